"""Command-line interface (Typer + Rich): a thin adapter over the services."""
