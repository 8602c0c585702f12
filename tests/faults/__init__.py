"""Faults done for real: a database restarted, workers killed, a disk filled, Redis silenced."""
