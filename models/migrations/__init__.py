"""Schema migrations, applied in order by peewee-migrate (models/schema.py)."""
