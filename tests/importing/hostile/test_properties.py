"""Property tests: code normalisation and tree validation (issue 19).

Codes: one normalisation (:func:`zhuizong.importing.normalize.normalize_code`, the same code path as
an import's code columns) that is idempotent, gives one key for NFKC-equivalent inputs and is not
moved by inserted invisible characters. Trees: random forests are accepted, adding any back edge
(a unit made the child of itself or of one of its descendants) is refused, on the pure checks and
through a real import; the dated sweep of reporting lines finds exactly the cycles a day-by-day
brute force finds.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from zhuizong.importing import service as svc
from zhuizong.importing.normalize import (
    CONTROL_SPANS,
    FORMAT_SPANS,
    INVISIBLE_SPANS,
    UNPRINTABLE_SPANS,
    WHITESPACE,
    clean_strings,
    code_problem,
    in_spans,
    normalize_code,
)
from zhuizong.importing.structure import _dated_cycles, forest_cycles, graph_cycle_nodes
from zhuizong.store import models as m
from zhuizong.workspace import Workspace


def _points(spans: tuple[tuple[int, int], ...]) -> set[int]:
    return {c for lo, hi in spans for c in range(lo, hi + 1)}


INVISIBLE_CHARS = sorted(chr(c) for c in _points(INVISIBLE_SPANS))
ASSIGNED = st.characters(exclude_categories=("Cs", "Cn"))  # Cn: unassigned in this Python

# --- the character tables ---------------------------------------------------------------------


def test_tables_match_unicodedata() -> None:
    every = [chr(c) for c in range(0x110000)]
    assert _points(FORMAT_SPANS) == {ord(ch) for ch in every if unicodedata.category(ch) == "Cf"}
    assert _points(CONTROL_SPANS) == {ord(ch) for ch in every if unicodedata.category(ch) == "Cc"}
    assert _points(UNPRINTABLE_SPANS) == {
        ord(ch) for ch in every if unicodedata.category(ch) in ("Cc", "Co")}
    assert {ch for ch in every if ch.isspace()} - set(WHITESPACE) == {
        chr(c) for c in range(0x1C, 0x20)}  # Python's extra "spaces" are controls here


def test_nfkc_never_produces_invisible_characters() -> None:
    """So removing invisible characters first and folding second is stable."""
    invisible = _points(INVISIBLE_SPANS)
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF or c in invisible:
            continue
        for form in ("NFKC", "NFKD"):
            out = unicodedata.normalize(form, chr(c))
            assert not any(ord(x) in invisible for x in out), (hex(c), form)


@pytest.mark.parametrize("raw,key", [
    ("T0001", "T0001"), ("T\u200b0001", "T0001"), ("T000\u20601", "T0001"),
    ("T\u00ad0001", "T0001"), ("\ufeffT\u200c00\u200d01", "T0001"), ("Ｔ０００１", "T0001"),
    ("\u00a0T0001\u3000", "T0001"), ("T0\ufe0f001\u034f", "T0001"), ("e\u200b\u0301", "é"),
    ("\u200b\u2060", None), ("  ", None),
])
def test_known_keys(raw: str, key: str | None) -> None:
    assert normalize_code(raw) == key


@pytest.mark.parametrize("raw,words", [
    ("T 0001", "space"), ("T\u30000001", "space"), ("T\u20280001", "space"),
    ("T\x000001", "control"), ("T\t0001", "control"), ("T\ue0000001", "unprintable"),
])
def test_refused_codes(raw: str, words: str) -> None:
    problem = code_problem(normalize_code(raw) or "")
    assert problem is not None and words in problem[1]


# --- codes ------------------------------------------------------------------------------------


@given(st.text(ASSIGNED, max_size=20))
@settings(max_examples=300, deadline=None)
def test_normalisation_is_idempotent(s: str) -> None:
    key = normalize_code(s)
    if key is not None:
        assert normalize_code(key) == key
        assert key == key.strip(WHITESPACE)
        assert not any(in_spans(ch, INVISIBLE_SPANS) for ch in key)


@given(st.text(ASSIGNED, max_size=20))
@settings(max_examples=300, deadline=None)
def test_nfkc_equivalent_inputs_give_one_key(s: str) -> None:
    key = normalize_code(s)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert normalize_code(unicodedata.normalize(form, s)) == key, form


CODE_CHARS = st.sampled_from(
    "ABCXYZabcxyz0123456789-_/.ＡＢＣ０１２３－＿／．张王李北京分公司éñ\u0301\u0323 \u3000")


@given(st.text(CODE_CHARS, max_size=16), st.data())
@settings(max_examples=300, deadline=None)
def test_inserted_invisible_characters_do_not_change_the_key(s: str, data: st.DataObject) -> None:
    noisy = list(s)
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(noisy)))
        noisy.insert(pos, data.draw(st.sampled_from(INVISIBLE_CHARS)))
    assert normalize_code("".join(noisy)) == normalize_code(s)


@given(st.lists(st.one_of(st.none(), st.text(ASSIGNED, max_size=12)), max_size=12))
@settings(max_examples=200, deadline=None)
def test_column_and_single_value_agree(values: list[str | None]) -> None:
    """A whole column (ASCII fast path or not) normalises each value as one value alone."""
    col = clean_strings(pa.array(values, type=pa.string()), folded=True).to_pylist()
    assert col == [None if v is None else normalize_code(v) for v in values]


# --- trees ------------------------------------------------------------------------------------


@st.composite
def forests(draw: st.DrawFn) -> dict[str, str | None]:
    """A random forest: node i's parent is None or an earlier node; labels shuffled."""
    n = draw(st.integers(1, 40))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    labels = draw(st.permutations([f"U{i:02d}" for i in range(n)]))
    return {labels[i]: (None if p is None else labels[p]) for i, p in enumerate(parents)}


def _ancestors_path(parent: dict[str, str | None], node: str, top: str) -> list[str]:
    """node, parent(node), … up to top (top an ancestor of node, or node itself)."""
    path = [node]
    while path[-1] != top:
        nxt = parent[path[-1]]
        assert nxt is not None
        path.append(nxt)
    return path


@given(forests())
@settings(max_examples=300, deadline=None)
def test_random_forests_are_accepted(parent: dict[str, str | None]) -> None:
    assert forest_cycles(parent) == []
    assert graph_cycle_nodes((a, p) for a, p in parent.items() if p is not None) == set()


@given(forests(), st.data())
@settings(max_examples=300, deadline=None)
def test_any_back_edge_is_refused(parent: dict[str, str | None], data: st.DataObject) -> None:
    u = data.draw(st.sampled_from(sorted(parent)))
    descendants = sorted(n for n in parent if u in _ancestors_path_or_empty(parent, n, u))
    v = data.draw(st.sampled_from(descendants))  # u itself included: a unit its own parent
    cycle = set(_ancestors_path(parent, v, u))
    changed = dict(parent)
    changed[u] = v
    found = forest_cycles(changed)
    assert [set(c) for c in found] == [cycle]
    assert graph_cycle_nodes((a, p) for a, p in changed.items() if p is not None) == cycle


def _ancestors_path_or_empty(parent: dict[str, str | None], node: str, top: str) -> list[str]:
    path: list[str] = [node]
    while path[-1] != top:
        nxt = parent[path[-1]]
        if nxt is None:
            return []
        path.append(nxt)
    return path


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6), st.one_of(st.none(),
                                                                            st.integers(0, 5))),
                max_size=25))
@settings(max_examples=300, deadline=None)
def test_dated_sweep_matches_day_by_day(changes: list[tuple[int, int, int | None]]) -> None:
    """Random dated supervisor links of 6 agents: the sweep finds each cycle at the first date it
    holds, exactly as checking every date's whole map does."""
    base = dt.date(2026, 1, 1)
    last: dict[tuple[str, dt.date], str | None] = {}
    for agent, day, sup in changes:
        last[(f"A{agent}", base + dt.timedelta(days=day))] = None if sup is None else f"A{sup}"
    hist = pd.DataFrame(
        [(a, pd.Timestamp(d), s) for (a, d), s in sorted(last.items(), key=lambda t: t[0][1])],
        columns=["agent_code", "valid_from", "supervisor_code"])
    agents = {f"A{i}" for i in range(6)}
    got = {frozenset(c): d for c, d in _dated_cycles(hist, agents)}
    want: dict[frozenset[str], dt.date] = {}
    current: dict[str, str | None] = {}
    for day in sorted({d for _, d in last}):
        for (a, d), s in last.items():
            if d == day:
                current[a] = s
        for cyc in forest_cycles(current):
            want.setdefault(frozenset(cyc), day)
    assert got == want


# --- through a real import --------------------------------------------------------------------


def _org_csv(tmp: Path, rows: dict[str, str | None]) -> Path:
    path = tmp / f"org_{uuid.uuid4().hex[:8]}.csv"
    path.write_text("org_code,org_name,parent_code\n" + "".join(
        f"{c},单位{c},{p or ''}\n" for c, p in rows.items()), encoding="utf-8")
    return path


@given(forests(), st.data())
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_import_accepts_forests_and_refuses_back_edges(
        workspace: Workspace, tmp_path: Path, parent: dict[str, str | None],
        data: st.DataObject) -> None:
    prefix = uuid.uuid4().hex[:6].upper()  # every example adds its own units to the workspace
    named = {f"{prefix}{k}": (None if p is None else f"{prefix}{p}") for k, p in parent.items()}
    ok = svc.import_file(workspace, "org_units", _org_csv(tmp_path, named))
    assert ok.status == "committed", ok.errors
    u = data.draw(st.sampled_from(sorted(named)))
    descendants = sorted(n for n in named if u in _ancestors_path_or_empty(named, n, u))
    v = data.draw(st.sampled_from(descendants))
    cycle = set(_ancestors_path(named, v, u))
    t = m.table("org_units")
    with workspace.engine.connect() as conn:
        before = sorted(conn.execute(select(t.c.org_code, t.c.parent_code)).all())
        n_batches = conn.execute(select(func.count()).select_from(m.table("import_batches"))
                                 ).scalar_one()
    # the back edge alone: only the stored rows close the cycle
    bad = svc.import_file(workspace, "org_units", _org_csv(tmp_path, {u: v}))
    assert bad.status == "rejected"
    assert [(e.row, e.column) for e in bad.errors] == [(2, "parent_code")]
    assert all(c in bad.errors[0].reason_en for c in cycle)
    with workspace.engine.connect() as conn:
        assert sorted(conn.execute(select(t.c.org_code, t.c.parent_code)).all()) == before
        assert conn.execute(select(func.count()).select_from(m.table("import_batches"))
                            ).scalar_one() == n_batches
