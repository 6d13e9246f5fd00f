"""Benchmark: the results store's build on DuckDB and on Spark in local mode (issue 18).

Builds (or reuses, with ``--home``) a demo workspace of ``--agents`` agents and ``--years`` years,
then builds the results store twice, ``--force``, with each engine, each in its own process
(``zhuizong analytics build --engine E``) so that its peak memory (max RSS of the process and its
children: Spark's JVM included) is measured apart. Prints and appends to bench/results: seconds,
peak RSS, stored rows, and the machine's load before and after.

    python bench/bench_spark.py --agents 300 --years 1
    python bench/bench_spark.py --agents 300000 --years 3 --home /big/l-size   # L size
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import append_result, clean_environment  # type: ignore[import-not-found]

from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.workspace import Workspace


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build(home: Path, engine: str, master: str, spark_conf: str) -> dict[str, object]:
    """One forced build in a child process → seconds, peak RSS (MB), the command's last line."""
    env = {**os.environ, "ZHUIZONG_HOME": str(home)}
    if engine == "spark" and spark_conf:
        env["ZHUIZONG_SPARK_CONF"] = spark_conf
    cmd = [sys.executable, "-m", "zhuizong", "analytics", "build", "--force", "--engine", engine]
    if engine == "spark":
        cmd += ["--master", master]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    load0 = _load()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        raise SystemExit(f"{engine} build failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    last = [ln for ln in p.stdout.splitlines() if ln.strip()][-1:]
    return {"engine": engine, "seconds": round(seconds, 1),
            # RUSAGE_CHILDREN's max RSS is the largest child so far: the Spark JVM is a child of
            # the child, so its RSS counts once it has ended (it ends with the build)
            "peak_rss_mb": round(max(peak, before) / 1024, 1), "load_before": load0,
            "load_after": _load(), "output": last[0] if last else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--home", type=Path, help="reuse (or create) the demo workspace here")
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--spark-conf", default="", help="ZHUIZONG_SPARK_CONF for the Spark build")
    ap.add_argument("--engines", default="duckdb,spark")
    args = ap.parse_args()
    clean_environment()
    home = args.home or Path(f"/tmp/zz-bench-spark-{args.agents}x{args.years}")
    if not (home / "zhuizong.toml").exists():
        home.mkdir(parents=True, exist_ok=True)
        ws = Workspace.open(home)
        ws.init()
        t0 = time.perf_counter()
        build_demo(ws, DemoParams(agents=args.agents, years=args.years))
        print(f"demo {args.agents}×{args.years}y built in {time.perf_counter() - t0:.0f} s")
    runs = [build(home, e, args.master, args.spark_conf) for e in args.engines.split(",")]
    for r in runs:
        print(f"{r['engine']:7} {r['seconds']:8.1f} s  peak {r['peak_rss_mb']:8.1f} MB  "
              f"load {r['load_before']} → {r['load_after']}  {r['output']}")
    append_result({"bench": "spark_build", "agents": args.agents, "years": args.years,
                   "master": args.master, "spark_conf": args.spark_conf, "runs": runs})


if __name__ == "__main__":
    main()
