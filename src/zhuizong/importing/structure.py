"""Structural checks of an import against the data already stored (issue 19, item 1).

An import is checked over the **merged** result (the stored rows with the file's rows applied as
the upsert will apply them: a column given in the file replaces the stored value, a column not
given keeps it), before anything is written:

* **The org tree stays a forest.** ``org_units``: no unit is its own ancestor (a unit its own
  parent, two units each other's parent, a root made a child of one of its descendants …). That
  every parent exists is the reference check of :func:`zhuizong.importing.validate.check_references`.
* **Reporting lines stay a forest.** ``agents`` and ``agent_events``: on no date is an agent their
  own supervisor, or their supervisor's supervisor, and so on up the line. Supervisors are dated
  (:mod:`zhuizong.store.history`: the ``agents`` row's value, overridden from each event on that
  names one), so the check runs over the merged dated history: first over the union of every
  supervisor link ever stored or given (cheap; almost always free of cycles), then, only for the
  agents on a cycle of that union, date by date.

Rows of the file that already carry a row error are left out (their values are not known); every
problem found comes back as a :class:`RowError` on the file rows that set the links of the cycle,
with the cycle written out (``B01 → T011 → B01``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, select

from zhuizong.importing.normalize import RowError
from zhuizong.store.history import derive
from zhuizong.store.models import table as db_table

_CHUNK = 900  # codes per IN (...) list

__all__ = ["check_structure", "forest_cycles", "graph_cycle_nodes"]


# --- pure graph helpers -----------------------------------------------------------------------


def forest_cycles(parent: Mapping[str, str | None]) -> list[list[str]]:
    """The cycles of a parent map (each node has at most one parent; a parent that is not a key
    ends the walk). Each cycle is listed once, as ``[a, parent(a), parent(parent(a)), …]``
    (without repeating ``a``), starting at its smallest code. ``[]`` means the map is a forest."""
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
    cycles: list[list[str]] = []
    for start in parent:
        if start in state:
            continue
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parent and node not in state:
            state[node] = 1
            path.append(node)
            node = parent[node]
        if node is not None and state.get(node) == 1:
            cyc = path[path.index(node):]
            i = cyc.index(min(cyc))
            cycles.append(cyc[i:] + cyc[:i])
        for n in path:
            state[n] = 2
    return cycles


def graph_cycle_nodes(edges: Iterable[tuple[Hashable, Hashable]]) -> set[Hashable]:
    """The nodes of a directed graph that lie on some cycle (a self-loop included): the members
    of its strongly connected components of more than one node, and the nodes with a self-loop.
    Iterative Tarjan, linear in the number of edges."""
    adj: dict[Hashable, list[Hashable]] = {}
    out: set[Hashable] = set()
    for a, b in edges:
        if a == b:
            out.add(a)
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, [])
    index: dict[Hashable, int] = {}
    low: dict[Hashable, int] = {}
    on_stack: set[Hashable] = set()
    stack: list[Hashable] = []
    counter = 0
    for root in adj:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work: list[tuple[Hashable, int]] = [(root, 0)]
        while work:
            node, i = work[-1]
            succ = adj[node]
            if i < len(succ):
                work[-1] = (node, i + 1)
                w = succ[i]
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[node] = min(low[node], index[w])
                continue
            work.pop()
            if work:
                parent_node = work[-1][0]
                low[parent_node] = min(low[parent_node], low[node])
            if low[node] == index[node]:
                comp: list[Hashable] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.update(comp)
    return out


def _arrow(path: Sequence[str]) -> str:
    return " → ".join([*path, path[0]])


# --- entry point ------------------------------------------------------------------------------


def check_structure(conn: Connection, kind_name: str, columns: Mapping[str, pa.Array],
                    rows: np.ndarray, bad_rows: Iterable[int] = ()) -> list[RowError]:
    """Structural problems of importing ``columns`` (validated, by database column) of
    ``kind_name`` into the database of ``conn``; ``bad_rows`` are user row numbers that already
    carry an error (left out of the merged result)."""
    if kind_name not in ("org_units", "agents", "agent_events"):
        return []
    keep = ~np.isin(rows, np.fromiter(bad_rows, dtype=np.int64)) if bad_rows else None
    frame = pd.DataFrame({c: a.to_pandas() for c, a in columns.items()})
    frame["zz_row"] = rows
    if keep is not None:
        frame = frame[keep]
    if kind_name == "org_units":
        return _org_tree(conn, frame)
    out = _reporting_lines(conn, kind_name, frame)
    if kind_name == "agents":
        out += _current_lines(conn, frame, {e.row for e in out if e.column == "supervisor_code"})
        out += _recruiters(conn, frame)
    return sorted(out, key=lambda e: (e.row, e.column))


# --- current supervisors ----------------------------------------------------------------------


def _merged_parents(conn: Connection, frame: pd.DataFrame, column: str
                    ) -> tuple[dict[str, str | None], dict[str, int]]:
    """The ``agents`` rows' undated ``column`` (supervisor or recruiter) over the merged result:
    agent → parent as stored, overwritten by the file's rows; and agent → the file row (first)."""
    t = db_table("agents")
    parent: dict[str, str | None] = {
        str(code): (None if p is None else str(p))
        for code, p in conn.execute(select(t.c.agent_code, t.c[column])).all()
    }
    row_of: dict[str, int] = {}
    for code, p, row in zip(frame.agent_code, frame[column], frame.zz_row, strict=True):
        if pd.isna(code):
            continue
        row_of.setdefault(code, int(row))
        parent[code] = None if p is None or (isinstance(p, float) and np.isnan(p)) else p
    return parent, row_of


def _current_lines(conn: Connection, frame: pd.DataFrame, reported: set[int]) -> list[RowError]:
    """The ``agents`` rows' own ``supervisor_code`` (the current line, read undated by the
    scope's reporting-line grants and the team board) stays a forest too: the dated check alone
    misses a cycle written in the rows while every event names another supervisor (the events
    win on every date, so the dated lines have none). ``reported``: file rows the dated check
    already refused on ``supervisor_code`` (not repeated)."""
    if "supervisor_code" not in frame or "agent_code" not in frame:
        return []
    parent, row_of = _merged_parents(conn, frame, "supervisor_code")
    out: list[RowError] = []
    for cyc in forest_cycles(parent):
        mine = sorted((row_of[c], c) for c in cyc if c in row_of)
        if not mine or any(r in reported for r, _ in mine):
            # untouched by the file (a line stored before this check: left to the dated check,
            # which refuses it while it holds on some date) or already refused
            continue
        path = _arrow(cyc)
        if len(cyc) == 1:
            zh = f"工号 {cyc[0]} 不能是自己的当前主管: {path}"
            en = f"agent {cyc[0]} cannot be their own current supervisor: {path}"
        else:
            zh = f"人员表的当前主管形成循环, 人员会成为自己主管的主管: {path}"
            en = (f"the agents' current supervisors form a cycle, an agent would be their own "
                  f"supervisor's supervisor: {path}")
        for r, c in mine:
            out.append(RowError(r, "supervisor_code", parent[c] or "", zh, en))
    return out


# --- recruiters -------------------------------------------------------------------------------


def _recruiters(conn: Connection, frame: pd.DataFrame) -> list[RowError]:
    """Recruitment (推荐/增员) lines stay a forest: nobody recruited themselves, directly or
    through the people they recruited (the recruiter is not dated: the ``agents`` row's value)."""
    if "recruiter_code" not in frame or "agent_code" not in frame:
        return []
    parent, row_of = _merged_parents(conn, frame, "recruiter_code")
    out: list[RowError] = []
    for cyc in forest_cycles(parent):
        path = _arrow(cyc)
        if len(cyc) == 1:
            zh, en = (f"人员不能是自己的推荐人: {path}", f"an agent cannot be their own recruiter: {path}")
        else:
            zh = f"推荐关系形成循环, 人员会成为自己的推荐人: {path}"
            en = f"the recruiters form a cycle, an agent would have recruited themselves: {path}"
        mine = sorted((row_of[c], c) for c in cyc if c in row_of)
        if not mine:
            out.append(RowError(0, "recruiter_code", cyc[0], zh + " (已存储的数据)",
                                en + " (in the stored data)"))
        for r, c in mine:
            out.append(RowError(r, "recruiter_code", parent[c] or "", zh, en))
    return out


# --- org tree ---------------------------------------------------------------------------------


def _org_tree(conn: Connection, frame: pd.DataFrame) -> list[RowError]:
    if "org_code" not in frame:
        return []
    t = db_table("org_units")
    parent: dict[str, str | None] = {
        str(code): (None if par is None else str(par))
        for code, par in conn.execute(select(t.c.org_code, t.c.parent_code)).all()
    }
    frame = frame[frame.org_code.notna()]
    given = "parent_code" in frame
    row_of: dict[str, int] = {}
    for rec in frame.itertuples(index=False):
        code = rec.org_code
        row_of.setdefault(code, int(rec.zz_row))
        if given:
            p = rec.parent_code
            parent[code] = None if p is None or (isinstance(p, float) and np.isnan(p)) else p
        else:
            parent.setdefault(code, None)
    out: list[RowError] = []
    for cyc in forest_cycles(parent):
        path = _arrow(cyc)
        if len(cyc) == 1:
            zh = f"机构不能是自己的上级机构: {path}"
            en = f"an org unit cannot be its own parent: {path}"
        else:
            zh = f"机构上下级形成循环, 机构会成为自己的上级: {path}"
            en = f"the org units form a cycle, a unit would be its own ancestor: {path}"
        mine = sorted((row_of[c], c) for c in cyc if c in row_of)
        if not mine:
            out.append(RowError(0, "parent_code", cyc[0], zh + " (已存储的数据; 请导入更正的上级机构)",
                                en + " (in the stored data; import corrected parents)"))
        for r, c in mine:
            out.append(RowError(r, "parent_code", parent[c] or "", zh, en))
    return out


# --- reporting lines --------------------------------------------------------------------------


def _chunks(codes: Sequence[str]) -> list[Sequence[str]]:
    return [codes[i : i + _CHUNK] for i in range(0, len(codes), _CHUNK)]


def _union_edges(conn: Connection, kind_name: str, frame: pd.DataFrame
                 ) -> set[tuple[str, str]]:
    """Every supervisor link ever stored or given by the file (a superset of the merged one)."""
    edges: set[tuple[str, str]] = set()
    for name in ("agents", "agent_events"):
        t = db_table(name)
        q = select(t.c.agent_code, t.c.supervisor_code).where(
            t.c.supervisor_code.is_not(None)).distinct()
        edges.update((str(a), str(s)) for a, s in conn.execute(q).all())
    if "supervisor_code" in frame and "agent_code" in frame:
        sub = frame[frame.agent_code.notna() & frame.supervisor_code.notna()]
        edges.update(zip(sub.agent_code, sub.supervisor_code, strict=True))
    return edges


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s)


def _overlay(stored: pd.DataFrame, given: pd.DataFrame, keys: list[str], cols: list[str]
             ) -> pd.DataFrame:
    """``stored`` with the rows of ``given`` upserted on ``keys``: the columns of ``given``
    replace the stored values, the other columns keep them (missing for a new row)."""
    present = [c for c in cols if c in given]
    g = given.drop_duplicates(keys, keep="first").set_index(keys)[present]
    s = stored.set_index(keys)
    merged = s.reindex(s.index.union(g.index))
    for c in present:
        merged.loc[g.index, c] = g[c].to_numpy()
    return merged.reset_index()


def _reporting_lines(conn: Connection, kind_name: str, frame: pd.DataFrame) -> list[RowError]:
    if "agent_code" not in frame:
        return []
    frame = frame[frame.agent_code.notna()]
    candidates = graph_cycle_nodes(_union_edges(conn, kind_name, frame))
    if not candidates:
        return []
    codes = sorted(str(c) for c in candidates)
    agents_t, events_t = db_table("agents"), db_table("agent_events")
    a_cols = ["agent_code", "hire_date", "leave_date", "rank_code", "org_code", "supervisor_code"]
    e_cols = ["agent_code", "event_date", "event_type", "rank_code", "org_code", "supervisor_code"]
    a_rows: list[tuple[object, ...]] = []
    e_rows: list[tuple[object, ...]] = []
    for part in _chunks(codes):
        a_rows += conn.execute(select(*(agents_t.c[c] for c in a_cols))
                               .where(agents_t.c.agent_code.in_(part))).all()
        e_rows += conn.execute(select(*(events_t.c[c] for c in e_cols))
                               .where(events_t.c.agent_code.in_(part))).all()
    agents = pd.DataFrame(a_rows, columns=a_cols).astype(object)
    events = pd.DataFrame(e_rows, columns=e_cols).astype(object)
    mine = frame[frame.agent_code.isin(candidates)].astype(object)
    if kind_name == "agents":
        agents = _overlay(agents, mine, ["agent_code"], a_cols[1:])
    else:
        events = _overlay(events, mine, ["agent_code", "event_date", "event_type"], e_cols[3:])
    for df, cols in ((agents, ("hire_date", "leave_date")), (events, ("event_date",))):
        for c in cols:
            df[c] = _dates(df[c])
    agents = agents[agents.hire_date.notna()]
    _, hist, _ = derive(agents, events)
    cycles = _dated_cycles(hist, candidates)
    return _line_errors(cycles, kind_name, frame, candidates)


def _dated_cycles(hist: pd.DataFrame, candidates: set[Hashable]
                  ) -> list[tuple[list[str], dt.date]]:
    """Sweep the dated supervisor links of ``candidates`` in date order; after the links of each
    date are applied, walk up from every agent whose link changed. Returns each distinct cycle
    with the first date it holds."""
    h = hist[hist.agent_code.isin(candidates)].sort_values(["valid_from", "agent_code"])
    current: dict[str, str] = {}
    found: dict[frozenset[str], tuple[list[str], dt.date]] = {}
    for day, group in h.groupby("valid_from", sort=True):
        changed: list[str] = []
        for a, s in zip(group.agent_code, group.supervisor_code, strict=True):
            if s is None or (isinstance(s, float) and np.isnan(s)) or s not in candidates:
                current.pop(a, None)
            else:
                current[a] = s
                changed.append(a)
        for a in changed:
            path = [a]
            seen = {a}
            x = current.get(a)
            while x is not None:
                if x == a:
                    key = frozenset(path)
                    if key not in found:
                        i = path.index(min(path))
                        found[key] = (path[i:] + path[:i], pd.Timestamp(day).date())
                    break
                if x in seen:
                    break  # another cycle, found from its own changed agent
                seen.add(x)
                path.append(x)
                x = current.get(x)
    return sorted(found.values(), key=lambda t: (t[1], t[0]))


def _line_errors(cycles: list[tuple[list[str], dt.date]], kind_name: str, frame: pd.DataFrame,
                 candidates: set[Hashable]) -> list[RowError]:
    out: list[RowError] = []
    has_sup = "supervisor_code" in frame
    for cyc, day in cycles:
        path = _arrow(cyc)
        if len(cyc) == 1:
            zh = f"工号 {cyc[0]} 不能是自己的主管 ({day} 起): {path}"
            en = f"agent {cyc[0]} cannot be their own supervisor (from {day}): {path}"
        else:
            zh = f"主管关系形成循环 ({day} 起), 人员会成为自己主管的主管: {path}"
            en = (f"the reporting lines form a cycle (from {day}), an agent would be their own "
                  f"supervisor's supervisor: {path}")
        members = set(cyc)
        rows = frame[frame.agent_code.isin(members)]
        links = rows[rows.supervisor_code.isin(members)] if has_sup else rows.iloc[0:0]
        chosen, column = (links, "supervisor_code") if len(links) else (rows, "agent_code")
        if not len(chosen):
            out.append(RowError(0, "supervisor_code", cyc[0],
                                zh + " (已存储的数据; 请导入更正的主管工号)",
                                en + " (in the stored data; import corrected supervisors)"))
            continue
        for rec in chosen.itertuples(index=False):
            value = rec.supervisor_code if column == "supervisor_code" else rec.agent_code
            out.append(RowError(int(rec.zz_row), column, str(value), zh, en))
    return out
