"""Imports: read a file, normalise and validate it column-wise, upsert all-or-nothing."""
