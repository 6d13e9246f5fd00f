"""zhuizong (追踪): sales-force KPIs and the daily tracking process of a life insurer's agency channel."""

__version__ = "0.1.0"
