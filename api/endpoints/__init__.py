"""The resource endpoints: one blueprint per module, each parsing requests and rendering answers."""
