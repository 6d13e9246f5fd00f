"""Metric catalog (kpi-spec.md §5). The KPI engine issue turns this into the typed registry."""
