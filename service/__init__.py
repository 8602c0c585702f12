"""The process around the app: the command line, gunicorn wiring, configuration, seeding."""
