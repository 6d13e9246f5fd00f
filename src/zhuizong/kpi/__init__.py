"""The KPI engine: one registry of metric definitions, compiled to Ibis, run on DuckDB."""
