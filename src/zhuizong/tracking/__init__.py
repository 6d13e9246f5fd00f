"""The daily tracking process (追踪): rules over KPI signals generate items per agent or org unit,
owners record follow-ups, digests are delivered, effectiveness is measured (docs/tracking.md)."""
