"""System of record: SQLAlchemy models, the engine, the one transaction helper, migrations."""
