"""The engines the compiled KPI expressions run on: DuckDB in the process (the default) or Spark.

The compiler builds Ibis expressions only; which engine executes them is decided here, once per
snapshot (docs/deployment-spark.md). Both read the same Parquet snapshot (a local folder, or a
shared/object-store path a cluster reads) and answer the same expressions with the same numbers
(``tests/kpi/test_spark_equals_duckdb.py``).

Spark is an optional extra (``pip install 'zhuizong[spark]'``): :func:`connect` imports PySpark
only when the Spark engine is asked for, and names the extra when it is missing. One Spark
session serves the whole process (starting one takes seconds); it is stopped at exit.
"""

from __future__ import annotations

import atexit
import importlib
import os
import threading
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from zhuizong.errors import ZhuizongError

ENGINES = ("duckdb", "spark")
DEFAULT_MASTER = "local[*]"

_session_lock = threading.Lock()
_sessions: dict[str, Any] = {}


@dataclass
class Backend:
    """An Ibis connection and the few things that differ by engine."""

    name: str
    con: Any

    def read_parquet(self, path: str, table_name: str) -> ir.Table:
        """The snapshot's table at ``path``; Spark keeps it in memory once read (``CACHE LAZY
        TABLE``): one build runs hundreds of queries over the same facts."""
        t = self.con.read_parquet(path, table_name=table_name)
        if self.name == "spark":
            self.con.raw_sql(f"CACHE LAZY TABLE `{table_name}`")
        return t

    def cache(self, name: str, expr: ir.Table) -> ir.Table:
        """``expr`` computed once and kept by the engine for this connection: a DuckDB temporary
        table; on Spark a temporary view marked ``CACHE TABLE`` (kept in executor memory)."""
        if self.name == "spark":
            view = self.con.create_view(name, obj=expr, overwrite=True)
            self.con.raw_sql(f"CACHE TABLE `{name}`")
            return view
        return self.con.create_table(name, obj=expr, temp=True)

    def close(self) -> None:
        if self.name == "spark":  # the session is the process's; only this snapshot's views go
            for view in self.con.list_tables():
                if view.startswith("zz_"):
                    self.con.raw_sql(f"DROP VIEW IF EXISTS `{view}`")
            return
        self.con.disconnect()


def _spark_session(master: str) -> Any:
    """The process's Spark session for ``master`` (created on first use)."""
    with _session_lock:
        if master in _sessions:
            return _sessions[master]
        try:
            sql = importlib.import_module("pyspark.sql")
        except ImportError as exc:
            raise ZhuizongError(
                "未安装 Spark 引擎: 请执行 pip install 'zhuizong[spark]' (需要 Java 17 或以上)",
                "the Spark engine is not installed: pip install 'zhuizong[spark]' "
                "(it needs Java 17 or later)") from exc
        builder = (sql.SparkSession.builder.master(master).appName("zhuizong")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC")
                   # exact decimals: an overflow is an error, never a silent NULL
                   .config("spark.sql.ansi.enabled", "true")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
        # any further Spark setting, "key=value key=value" (docs/deployment-spark.md)
        for conf in os.environ.get("ZHUIZONG_SPARK_CONF", "").split():
            k, _, v = conf.partition("=")
            builder = builder.config(k, v)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # no Java, a master that does not answer
            raise ZhuizongError(f"无法启动 Spark ({master}): {exc}",
                                f"cannot start Spark ({master}): {exc}") from exc
        session.sparkContext.setLogLevel("ERROR")
        _sessions[master] = session
        atexit.register(_stop, session)
        return session


def _stop(session: Any) -> None:
    """Stop the session at exit; a JVM already gone (interpreter shutdown) is not an error."""
    try:
        session.stop()
    except Exception:  # py4j's gateway may be closed before atexit runs
        pass


def check_engine(name: str) -> str:
    """``name`` when it is an engine (:data:`ENGINES`), else a clear error (before any work)."""
    if name not in ENGINES:
        raise ZhuizongError(f"未知引擎 {name}: 可选 {', '.join(ENGINES)}",
                            f"unknown engine {name}: use {', '.join(ENGINES)}")
    return name


def connect(engine: str = "duckdb", master: str | None = None) -> Backend:
    """A fresh connection of ``engine`` (``duckdb`` or ``spark``; Spark at ``master``, default
    ``local[*]``)."""
    if check_engine(engine) == "duckdb":
        con = ibis.duckdb.connect()
        # no progress bars on the process's stderr (the web server's log) for long queries
        con.raw_sql("SET enable_progress_bar = false")
        return Backend("duckdb", con)
    session = _spark_session(master or DEFAULT_MASTER)
    return Backend("spark", ibis.pyspark.connect(session))


__all__ = ["DEFAULT_MASTER", "ENGINES", "Backend", "check_engine", "connect"]
