"""Build a tiny agency as import files and load it with the real CLI (acceptance tests of the KPIs).

Everything goes through the public interface: CSV files with the English code headers of
``data-contract.md`` ("Import files"), imported with ``zhuizong import KIND FILE`` in
:data:`zhuizong.importing.kinds.IMPORT_ORDER`, and read back with ``zhuizong kpi ... --format json``.
The workspace is the one named by ``ZHUIZONG_HOME`` (the ``home`` fixture of ``tests/conftest.py``).

The agency: one branch ``BR`` (level ``branch``) with two child units ``U1`` and ``U2`` (level
``team``); ranks ``T`` (probationary), ``A`` (formal), ``D`` (director); products ``MAIN`` (main,
regular, fyc_rate 0.3, std_factor 0.5) and ``RIDER`` (rider, regular, fyc_rate 0.2, no factor).
Files are written with plain string joins so that thousands of rows stay fast.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal
from pathlib import Path
from typing import Any

from zhuizong.cli.main import main
from zhuizong.importing.kinds import IMPORT_ORDER

ROOT, U1, U2 = "BR", "U1", "U2"
T, A, D = "T", "A", "D"  # probationary, formal, director
MAIN, RIDER = "MAIN", "RIDER"

HEADERS: dict[str, tuple[str, ...]] = {
    "org_units": ("org_code", "org_name", "parent_code", "level"),
    "ranks": ("rank_code", "rank_name", "category", "level"),
    "products": ("product_code", "product_name", "is_main", "pay_mode", "term_years", "fyc_rate",
                 "std_factor"),
    "agents": ("agent_code", "agent_name", "hire_date", "org_code", "rank_code", "leave_date"),
    "agent_events": ("agent_code", "event_date", "event_type", "rank_code", "org_code"),
    "premiums": ("txn_id", "policy_no", "agent_code", "product_code", "txn_date", "txn_type",
                 "amount", "issue_date", "policy_year", "fyc"),
    "plans": ("org_code", "period", "metric", "target"),
}


def zhuizong_exe() -> str:
    return str(Path(sys.executable).with_name("zhuizong"))


# --- running the CLI --------------------------------------------------------------------------


def run_cli(*args: str, subprocess_: bool = False) -> tuple[int, str, str]:
    """Run ``zhuizong ARGS`` (in-process by default) → (exit code, stdout, stderr)."""
    if subprocess_:
        p = subprocess.run([zhuizong_exe(), *args], capture_output=True, text=True, timeout=600)
        return p.returncode, p.stdout, p.stderr
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def cli_ok(*args: str, subprocess_: bool = False) -> str:
    code, out, err = run_cli(*args, subprocess_=subprocess_)
    assert code == 0, f"zhuizong {' '.join(args)} exited {code}\nstdout:\n{out}\nstderr:\n{err}"
    return out


def config_set(key: str, value: str) -> None:
    cli_ok("config", "set", key, value)


def kpi(period: str, metrics: Sequence[str] | str, *, org: str | None = None, by: str | None = None,
        segment: str | None = None, as_of: str | None = None,
        subprocess_: bool = False) -> dict[str, Any]:
    """``zhuizong kpi --period P --metrics ... --format json`` → the parsed JSON object."""
    if not isinstance(metrics, str):
        metrics = ",".join(metrics)
    args = ["kpi", "--period", period, "--metrics", metrics, "--format", "json"]
    for opt, val in (("--org", org), ("--by", by), ("--segment", segment), ("--as-of", as_of)):
        if val is not None:
            args += [opt, val]
    out = cli_ok(*args, subprocess_=subprocess_)
    return json.loads(out)


def row(result: dict[str, Any], metric: str, org: str | None = None, segment: str = "all",
        agent: str | None = None) -> dict[str, Any]:
    """The single output row for ``metric`` (and org / segment / agent when given)."""
    found = [r for r in result["rows"]
             if r["metric"] == metric and r["segment"] == segment
             and (org is None or r["org_code"] == org)
             and (agent is None or r.get("agent_code") == agent)]
    assert len(found) == 1, f"expected one row for {metric} {org} {segment} {agent}: {found}\n" \
                            f"all rows: {result['rows']}"
    return found[0]


def value(result: dict[str, Any], metric: str, org: str | None = None,
          segment: str = "all") -> Any:
    return row(result, metric, org, segment)["value"]


# --- facts ------------------------------------------------------------------------------------


def _d(d: dt.date | str | None) -> str:
    if d is None:
        return ""
    return d if isinstance(d, str) else d.isoformat()


def _fen(amount: Decimal | int | str) -> int:
    f = Decimal(str(amount)) * 100
    assert f == f.to_integral_value(), f"amount {amount} has more than two decimals"
    return int(f)


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from start to end inclusive."""
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def spread(n: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """``n`` dates cycling through start..end (inclusive), so both ends are used when n ≥ 2."""
    ds = days(start, end)
    if n >= 2 and len(ds) >= 2:
        # make sure the last date is hit too
        return [ds[i % len(ds)] if i < n - 1 else ds[-1] for i in range(n)]
    return [ds[i % len(ds)] for i in range(n)]


class Agency:
    """Accumulates facts, writes them as CSV import files and imports them with the CLI."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.orgs = [(ROOT, "总公司营业区", "", "branch"), (U1, "一部", ROOT, "team"),
                     (U2, "二部", ROOT, "team")]
        self.ranks = [(T, "业务员(试用)", "probationary", "1"), (A, "业务员", "formal", "2"),
                      (D, "业务主任", "director", "3")]
        self.products = [(MAIN, "主险终身寿", "1", "regular", "10", "0.3", "0.5"),
                         (RIDER, "附加意外险", "0", "regular", "10", "0.2", "")]
        #: agent code -> [code, name, hire, org at hire, rank at hire, current rank, leave,
        #: current org]
        self.agents: dict[str, list[str]] = {}
        self.events: list[tuple[str, str, str, str, str]] = []  # besides the implied hire events
        self.premiums: list[str] = []
        self.plans: list[str] = []
        self._txn = 0
        self._policy = 0

    # --- people -------------------------------------------------------------------------------
    def hire(self, prefix: str, n: int, hire_date: dt.date | Sequence[dt.date], *, org: str = U1,
             rank: str = T, leave: dt.date | Sequence[dt.date | None] | None = None,
             start: int = 1, width: int = 5) -> list[str]:
        """``n`` agents ``<prefix><zero-padded number>`` hired on a date (or one date each)."""
        hires = [hire_date] * n if isinstance(hire_date, dt.date) else list(hire_date)
        leaves: list[dt.date | None] = (
            [leave] * n if leave is None or isinstance(leave, dt.date) else list(leave))
        assert len(hires) == n and len(leaves) == n
        codes = []
        for i in range(n):
            code = f"{prefix}{start + i:0{width}d}"
            assert code not in self.agents, f"duplicate agent {code}"
            self.agents[code] = [code, f"代理人{code}", _d(hires[i]), org, rank, rank,
                                 _d(leaves[i]), org]
            codes.append(code)
        return codes

    def leave(self, codes: Iterable[str], dates: dt.date | Sequence[dt.date]) -> None:
        """Set the leave date (the first day no longer in force) of ``codes``."""
        codes = list(codes)
        ds = [dates] * len(codes) if isinstance(dates, dt.date) else list(dates)
        assert len(ds) == len(codes)
        for c, d in zip(codes, ds, strict=True):
            self.agents[c][6] = _d(d)

    def convert(self, codes: Iterable[str], dates: dt.date | Sequence[dt.date],
                rank: str = A, event: str = "convert") -> None:
        """``agent_events`` rank changes (``convert`` 转正 by default) to ``rank``."""
        codes = list(codes)
        ds = [dates] * len(codes) if isinstance(dates, dt.date) else list(dates)
        assert len(ds) == len(codes)
        for c, d in zip(codes, ds, strict=True):
            self.events.append((c, _d(d), event, rank, ""))
            self.agents[c][5] = rank  # the agents row describes the current state

    def transfer(self, code: str, date: dt.date, org: str) -> None:
        self.events.append((code, _d(date), "transfer", "", org))
        self.agents[code][7] = org

    # --- production ---------------------------------------------------------------------------
    def policy_no(self) -> str:
        self._policy += 1
        return f"P{self._policy:07d}"

    def premium(self, agent: str, txn_type: str, amount: Decimal | int | str, txn_date: dt.date,
                *, product: str = MAIN, policy: str | None = None,
                issue_date: dt.date | None = None, policy_year: int | None = None,
                fyc: Decimal | int | str | None = None) -> str:
        """One premium transaction; returns its policy number (a new one unless given)."""
        assert agent in self.agents, agent
        self._txn += 1
        policy = policy or self.policy_no()
        if policy_year is None:
            policy_year = 2 if txn_type == "renewal" else 1
        self.premiums.append(",".join((
            f"T{self._txn:08d}", policy, agent, product, _d(txn_date), txn_type,
            _money(_fen(amount)), _d(issue_date), str(policy_year),
            "" if fyc is None else _money(_fen(fyc)))))
        return policy

    def new_policies(self, agents: Sequence[str], total: Decimal | int | str,
                     txn_date: dt.date | Sequence[dt.date], *, product: str = MAIN) -> list[str]:
        """One ``new`` policy per entry of ``agents`` (repeat codes for several), amounts adding
        up to exactly ``total`` 元 (the remainder fen go to the last policy)."""
        n = len(agents)
        fen = _fen(total)
        each, rest = divmod(fen, n)
        ds = [txn_date] * n if isinstance(txn_date, dt.date) else list(txn_date)
        out = []
        for i, a in enumerate(agents):
            amt = each + (rest if i == n - 1 else 0)
            out.append(self.premium(a, "new", Decimal(amt) / 100, ds[i], product=product))
        return out

    def plan(self, org: str, period: str, metric: str, target: Decimal | int | str) -> None:
        self.plans.append(f"{org},{period},{metric},{target}")

    # --- files and import -----------------------------------------------------------------------
    def _lines(self, kind: str) -> list[str]:
        if kind == "org_units":
            return [",".join(r) for r in self.orgs]
        if kind == "ranks":
            return [",".join(r) for r in self.ranks]
        if kind == "products":
            return [",".join(r) for r in self.products]
        if kind == "agents":
            return [",".join((a[0], a[1], a[2], a[7], a[5], a[6])) for a in self.agents.values()]
        if kind == "agent_events":
            if not self.events:
                return []
            with_events = dict.fromkeys(e[0] for e in self.events)
            hires = [(c, self.agents[c][2], "hire", self.agents[c][4], self.agents[c][3])
                     for c in with_events]
            # every agent with history gets a ``hire`` event carrying the rank and unit at hire
            return [",".join(e) for e in hires + self.events]
        if kind == "premiums":
            return self.premiums
        if kind == "plans":
            return self.plans
        raise KeyError(kind)

    def write(self) -> dict[str, Path]:
        """Write one CSV per kind that has rows; returns kind → path."""
        paths: dict[str, Path] = {}
        for kind in IMPORT_ORDER:
            if kind not in HEADERS:
                continue
            lines = self._lines(kind)
            if not lines:
                continue
            path = self.folder / f"{kind}.csv"
            path.write_text(",".join(HEADERS[kind]) + "\n" + "\n".join(lines) + "\n",
                            encoding="utf-8")
            paths[kind] = path
        return paths

    def load(self, *, subprocess_: bool | Sequence[str] = False,
             init: bool = True) -> dict[str, Path]:
        """``zhuizong init`` and ``zhuizong import`` every written file, in IMPORT_ORDER.

        ``subprocess_``: True runs every command through the console script; a list of kinds
        runs just those imports that way (each process start costs about a second)."""
        def sub(kind: str) -> bool:
            return subprocess_ is True or (not isinstance(subprocess_, bool) and kind in subprocess_)

        if init:
            cli_ok("init", subprocess_=sub("init"))
        paths = self.write()
        for kind, path in paths.items():
            cli_ok("import", kind, str(path), subprocess_=sub(kind))
        return paths
