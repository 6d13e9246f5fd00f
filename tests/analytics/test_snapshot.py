"""The Parquet snapshot (docs/kpi-engine.md, "Snapshot schema"): contents equal the database,
refresh is incremental and exact, and a killed refresh is repaired by the next one."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sqlalchemy import select, text

from tests.example_staff import create_example_staff
from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import day_num
from zhuizong.analytics.snapshot import OPEN_DAY
from zhuizong.importing.kinds import IMPORT_ORDER
from zhuizong.importing.service import import_file, import_frame
from zhuizong.store.models import Base, table
from zhuizong.workspace import Workspace

#: import batches of one load of the example files (one per kind)
N_KINDS = len(IMPORT_ORDER)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SIGN = {"new": 1, "fy_renewal": 1, "free_look_cancel": -1, "surrender": -1, "renewal": 0}


# --- helpers ----------------------------------------------------------------------------------


def load_examples(ws: Workspace, skip: tuple[str, ...] = ()) -> None:
    for kind in IMPORT_ORDER:
        if kind in skip:
            continue
        if kind == "track_assignments":
            create_example_staff(ws)
        res = import_file(ws, kind, EXAMPLES / f"{kind}.csv")
        assert res.status == "committed", (kind, res.errors[:3])


def imp(ws: Workspace, kind: str, rows: list[dict], name: str) -> None:
    res = import_frame(ws, kind, pd.DataFrame(rows), source_name=name)
    assert res.status == "committed", (kind, res.errors[:3])


def read(path: str, where: str = "", order: str = "all") -> list[tuple]:
    """Rows of a snapshot table (a file or a glob; a glob without files = no rows)."""
    if "*" in path and not list(Path(path).parent.parent.glob("*/*.parquet")):
        return []
    src = f"read_parquet('{path}', hive_partitioning = false)"
    return duckdb.sql(f"select * from {src} {where} order by {order}").fetchall()


def read_df(path: str) -> pd.DataFrame:
    """As Python values (decimals stay ``Decimal``)."""
    rel = duckdb.sql(f"select * from read_parquet('{path}', hive_partitioning = false)")
    return pd.DataFrame(rel.fetchall(), columns=rel.columns)


def contents(ws: Workspace) -> dict[str, list[tuple]]:
    return {name: read(p) for name, p in snapshot.tables(ws, refresh_first=False).items()}


def fingerprints(ws: Workspace) -> dict[str, tuple[int, str]]:
    root = ws.analytics_dir
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns,
                                        hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*.parquet"))}


def partitions(ws: Workspace, fact: str) -> list[str]:
    return sorted(p.parent.name for p in (ws.analytics_dir / fact).glob("*/*.parquet"))


def db_rows(ws: Workspace, sql: str) -> list[tuple]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def db_count(ws: Workspace, name: str) -> int:
    return db_rows(ws, f"select count(*) from {name}")[0][0]


EXTRA_PRODUCT = [{"product_code": "P005", "product_name": "无佣金产品", "is_main": "0",
                  "pay_mode": "single"}]  # no fyc_rate, no std_factor
EXTRA_PREMIUMS = [
    {"txn_id": "X1", "policy_no": "PX1", "agent_code": "010001", "product_code": "P005",
     "txn_date": "2026-05-03", "txn_type": "new", "amount": "1000.00"},
    {"txn_id": "X2", "policy_no": "PX2", "agent_code": "010002", "product_code": "P002",
     "txn_date": "2026-05-04", "txn_type": "free_look_cancel", "amount": "333.33"},
    {"txn_id": "X3", "policy_no": "PX3", "agent_code": "010002", "product_code": "P001",
     "txn_date": "2026-04-30", "txn_type": "new", "amount": "100.00", "fyc": "1.23"},
]


# --- rebuild: contents equal the database -----------------------------------------------------


def test_rebuild_matches_database(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    imp(ws, "products", EXTRA_PRODUCT, "p5.csv")
    imp(ws, "premiums", EXTRA_PREMIUMS, "extra.csv")
    steps: list[tuple[str, int, int]] = []
    info = snapshot.rebuild(ws, progress=lambda n, d, t: steps.append((n, d, t)))
    assert info.refreshed and info.max_batch_id == N_KINDS + 2
    assert info.exported["premiums"] == [202604, 202605]
    assert ("premiums", 2, 2) in steps and ("orgs", 1, 1) in steps
    paths = snapshot.tables(ws, refresh_first=False)
    assert set(paths) == {"orgs", "org_ancestors", "ranks", "products", "spells", "placements",
                          "plans", "premiums", "attendance", "work_logs"}
    assert partitions(ws, "premiums") == ["month=202604", "month=202605"]
    assert not list(ws.analytics_dir.rglob("*.tmp*"))

    # row counts
    for name, src in [("orgs", "org_units"), ("ranks", "ranks"), ("products", "products"),
                      ("spells", "employment_spells"), ("placements", "agent_history"),
                      ("plans", "plans"), ("premiums", "premiums"),
                      ("attendance", "attendance"), ("work_logs", "work_logs")]:
        assert len(read(paths[name])) == db_count(ws, src), name

    # FYP, exact, equals the database
    (db_fyp,) = db_rows(ws, "select sum(case when txn_type in ('new','fy_renewal') then amount_fen"
                            " when txn_type in ('free_look_cancel','surrender') then -amount_fen"
                            " else 0 end) from premiums")[0]
    (snap_fyp,) = duckdb.sql(
        f"select sum(fyp_sign * amount_fen) from read_parquet('{paths['premiums']}')").fetchall()[0]
    assert int(snap_fyp) == int(db_fyp)

    # each premium: day numbers, sign, product attributes, fyc (explicit wins) and std
    prem = read_df(paths["premiums"]).set_index("txn_id")
    assert str(duckdb.sql(f"select fyc_fen, std_fen, txn_day, fyp_sign from "
                          f"read_parquet('{paths['premiums']}') limit 0").types) == \
        "[DECIMAL(24,6), DECIMAL(24,4), INTEGER, TINYINT]"
    p, pr = table("premiums"), table("products")
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(p.c.txn_id, p.c.txn_date, p.c.issue_date, p.c.txn_type, p.c.amount_fen,
                   p.c.fyc_fen, pr.c.fyc_rate, pr.c.std_factor, pr.c.is_main, pr.c.pay_mode)
            .join(pr, p.c.product_code == pr.c.product_code)
        ).all()
    assert len(rows) == len(prem) == 43
    for r in rows:
        s = prem.loc[r.txn_id]
        assert s.txn_day == day_num(r.txn_date)
        assert (pd.isna(s.issue_day) if r.issue_date is None
                else s.issue_day == day_num(r.issue_date))
        assert s.fyp_sign == SIGN[r.txn_type]
        amount = Decimal(r.amount_fen)
        fyc = Decimal(r.fyc_fen) if r.fyc_fen is not None else amount * (r.fyc_rate or 0)
        assert s.fyc_fen == fyc, r.txn_id
        assert s.std_fen == amount * (r.std_factor if r.std_factor is not None else 1), r.txn_id
        assert bool(s.is_main) == bool(r.is_main) and s.pay_mode == r.pay_mode
    # an explicit FYC wins over amount × rate (100 元 × 0.35 would be 35 元)
    assert prem.loc["X3"].fyc_fen == Decimal(123)
    assert prem.loc["T2026050013"].fyc_fen == Decimal("525000.000000")  # 15000 元 × 0.35
    assert prem.loc["X1"].fyc_fen == 0 and prem.loc["X1"].std_fen == Decimal(100000)
    assert prem.loc["X2"].std_fen == Decimal("26666.4000") and prem.loc["X2"].fyp_sign == -1

    # attendance: attended = present or late; days
    att = read_df(paths["attendance"])
    assert (att.attended == att.status.isin(["present", "late"])).all()
    db_att = db_rows(ws, "select agent_code, date, meeting from attendance")
    assert sorted((a, day_num(d if isinstance(d, dt.date) else dt.date.fromisoformat(d)), m)
                  for a, d, m in db_att) == sorted(
        zip(att.agent_code, att.day, att.meeting, strict=True))

    # spells and placements: open ends are OPEN_DAY
    spells = read_df(paths["spells"])
    open_db = db_count(ws, "employment_spells where leave_date is null")
    assert (spells.leave_day == OPEN_DAY).sum() == open_db > 0
    s12 = spells[spells.agent_code == "010012"].iloc[0]
    assert (s12.hire_day, s12.leave_day) == (day_num(dt.date(2026, 2, 2)),
                                             day_num(dt.date(2026, 5, 20)))
    assert sorted(spells[spells.agent_code == "010009"].spell_no) == [1, 2]
    pl = read_df(paths["placements"])
    assert (pl.to_day == OPEN_DAY).sum() == db_count(ws, "agent_history where valid_to is null")
    a3 = pl[pl.agent_code == "010003"].sort_values("from_day")
    assert a3.category.tolist() == ["probationary", "formal"]
    assert a3.to_day.tolist() == [day_num(dt.date(2026, 5, 1)), OPEN_DAY]

    # orgs: depth; org_ancestors: every unit × each ancestor incl. itself
    orgs = read_df(paths["orgs"]).set_index("org_code")
    parent = {c: (None if pd.isna(v) else v) for c, v in orgs.parent_code.items()}
    expected = set()
    for code in parent:
        chain, cur = [code], parent[code]
        while cur is not None:
            chain.append(cur)
            cur = parent[cur]
        expected |= {(code, a, i) for i, a in enumerate(chain)}
        assert orgs.loc[code, "depth"] == len(chain) - 1
    assert set(read(paths["org_ancestors"])) == expected
    assert ("G011", "B01", 2) in expected

    # plans keep exact decimals
    assert ("B01", "2026-05", "fyp", Decimal("300000.0000")) in read(paths["plans"])

    state = json.loads((ws.analytics_dir / "state.json").read_text())
    assert state["max_batch_id"] == N_KINDS + 2
    assert state["months"]["premiums"] == [202604, 202605]


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_noop_and_one_new_month(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    first = snapshot.refresh(ws)  # no state yet: a full export
    assert first.refreshed and set(first.exported) >= {"orgs", "premiums"}
    before = fingerprints(ws)
    again = snapshot.refresh(ws)
    assert not again.refreshed and again.exported == {} and again.max_batch_id == N_KINDS
    assert fingerprints(ws) == before

    imp(ws, "premiums", [
        {"txn_id": "J1", "policy_no": "PJ1", "agent_code": "010001", "product_code": "P001",
         "txn_date": "2026-06-02", "txn_type": "new", "amount": "5000.00"},
        {"txn_id": "J2", "policy_no": "PJ2", "agent_code": "010002", "product_code": "P004",
         "txn_date": "2026-06-30", "txn_type": "new", "amount": "100000.00", "fyc": "10.00"},
    ], "june.csv")
    info = snapshot.refresh(ws)
    assert info.refreshed and info.max_batch_id == N_KINDS + 1
    assert info.exported == {"premiums": [202606]}
    after = fingerprints(ws)
    new = "premiums/month=202606/part-0.parquet"
    assert set(after) == set(before) | {new}
    assert {k: v for k, v in after.items() if k != new} == before  # nothing else rewritten
    june = read(snapshot.tables(ws, refresh_first=False)["premiums"],
                f"where txn_day >= {day_num(dt.date(2026, 6, 1))}", order="txn_id")
    assert [(r[0], r[5], r[7], r[8]) for r in june] == [
        ("J1", day_num(dt.date(2026, 6, 2)), 500000, Decimal("175000.000000")),
        ("J2", day_num(dt.date(2026, 6, 30)), 10000000, Decimal("1000.000000")),
    ]
    assert not snapshot.refresh(ws).refreshed


def test_corrected_premium_moves_between_months(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    snapshot.rebuild(ws)
    paths = snapshot.tables(ws, refresh_first=False)
    april = read(paths["premiums"], "where txn_day < 20574")  # 20574 = 2026-05-01
    may = read(paths["premiums"], "where txn_day >= 20574")
    # the correction: T2026040001 really happened on 2026-05-20
    imp(ws, "premiums", [{
        "txn_id": "T2026040001", "policy_no": "PL26040001", "agent_code": "010001",
        "product_code": "P001", "txn_date": "2026-05-20", "txn_type": "new", "amount": "12000.00",
    }], "correction.csv")
    b = table("import_batches")
    with ws.engine.connect() as conn:
        lo, hi, updated = conn.execute(select(b.c.min_date, b.c.max_date, b.c.rows_updated)
                                       .order_by(b.c.id.desc()).limit(1)).one()
    assert (lo, hi, updated) == (dt.date(2026, 4, 3), dt.date(2026, 5, 20), 1)
    info = snapshot.refresh(ws)
    assert info.exported == {"premiums": [202604, 202605]}
    april2 = read(paths["premiums"], "where txn_day < 20574")
    may2 = read(paths["premiums"], "where txn_day >= 20574")
    assert len(april2) == len(april) - 1 and len(may2) == len(may) + 1
    moved = [r for r in april2 + may2 if r[0] == "T2026040001"]
    assert len(moved) == 1 and moved[0][5] == day_num(dt.date(2026, 5, 20))
    assert moved[0][8] == Decimal("420000.000000")  # the stored FYC was kept
    assert len(april2) + len(may2) == db_count(ws, "premiums")
    assert contents(ws) == _rebuilt(ws)


def test_month_that_becomes_empty_loses_its_partition(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    row = {"txn_id": "L1", "policy_no": "PL1", "agent_code": "010001", "product_code": "P001",
           "txn_type": "new", "amount": "10.00"}
    imp(ws, "premiums", [{**row, "txn_date": "2026-07-31"}], "july.csv")
    snapshot.rebuild(ws)
    assert partitions(ws, "premiums") == ["month=202604", "month=202605", "month=202607"]
    imp(ws, "premiums", [{**row, "txn_date": "2026-09-01"}], "september.csv")
    info = snapshot.refresh(ws)
    assert info.exported == {"premiums": [202607, 202608, 202609]}
    assert partitions(ws, "premiums") == ["month=202604", "month=202605", "month=202609"]
    assert not (ws.analytics_dir / "premiums" / "month=202607").exists()
    state = json.loads((ws.analytics_dir / "state.json").read_text())
    assert state["months"]["premiums"] == [202604, 202605, 202609]
    assert contents(ws) == _rebuilt(ws)


def test_agent_events_refresh_placements(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    snapshot.rebuild(ws)
    before = fingerprints(ws)
    paths = snapshot.tables(ws, refresh_first=False)
    assert len(read(paths["placements"], "where agent_code = '010002'")) == 1
    imp(ws, "agent_events", [{"agent_code": "010002", "event_date": "2026-06-01",
                              "event_type": "promote", "rank_code": "SA"}], "promo.csv")
    info = snapshot.refresh(ws)
    assert info.exported["placements"] == "all"
    assert not any(f in info.exported for f in ("premiums", "attendance", "work_logs"))
    rows = read(paths["placements"], "where agent_code = '010002'", order="from_day")
    june = day_num(dt.date(2026, 6, 1))
    assert [(r[1], r[2], r[4], r[5]) for r in rows] == [
        (day_num(dt.date(2022, 8, 1)), june, "AF", "formal"), (june, OPEN_DAY, "SA", "formal")]
    assert len(read(paths["placements"])) == db_count(ws, "agent_history")
    after = fingerprints(ws)
    assert {k: v for k, v in after.items() if k.startswith("premiums/")} == \
        {k: v for k, v in before.items() if k.startswith("premiums/")}


def test_product_change_reexports_all_premium_months(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    snapshot.rebuild(ws)
    imp(ws, "products", [{"product_code": "P002", "product_name": "安康重大疾病保险",
                          "is_main": "1", "pay_mode": "regular", "term_years": "10",
                          "fyc_rate": "0.25", "std_factor": "0.9"}], "p2.csv")
    info = snapshot.refresh(ws)
    assert info.exported["premiums"] == [202604, 202605]
    prem = read_df(snapshot.tables(ws, refresh_first=False)["premiums"]).set_index("txn_id")
    assert prem.loc["T2026040011"].fyc_fen == Decimal(730000) * Decimal("0.25")
    assert prem.loc["T2026040011"].std_fen == Decimal(730000) * Decimal("0.9")
    assert contents(ws) == _rebuilt(ws)


def _reset_database(ws: Workspace) -> None:
    """Replace the database by an empty one at the same URL."""
    Base.metadata.drop_all(ws.engine)
    with ws.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    ws.engine.dispose()
    ws.init()


def test_replaced_database_triggers_rebuild(workspace: Workspace) -> None:
    ws = workspace
    load_examples(ws)
    snapshot.rebuild(ws)
    assert partitions(ws, "premiums") == ["month=202604", "month=202605"]
    _reset_database(ws)
    load_examples(ws, skip=("premiums",))
    # same number of batches (the same highest id) but different data
    may = pd.read_csv(EXAMPLES / "premiums.csv", dtype=str)
    may = may[may.txn_date >= "2026-05-01"]
    res = import_frame(ws, "premiums", may, source_name="may-only.csv")
    assert res.status == "committed" and res.batch_id == N_KINDS
    info = snapshot.refresh(ws)
    assert info.refreshed and info.max_batch_id == N_KINDS
    assert set(info.exported) >= {"orgs", "placements", "premiums", "attendance"}
    assert partitions(ws, "premiums") == ["month=202605"]
    assert len(read(snapshot.tables(ws, refresh_first=False)["premiums"])) == len(may)
    assert contents(ws) == _rebuilt(ws)


def test_killed_refresh_is_repaired(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace
    load_examples(ws)
    snapshot.rebuild(ws)
    imp(ws, "premiums", [
        {"txn_id": "K1", "policy_no": "PK1", "agent_code": "010001", "product_code": "P001",
         "txn_date": "2026-06-02", "txn_type": "new", "amount": "5000.00"},
        {"txn_id": "K2", "policy_no": "PK2", "agent_code": "010001", "product_code": "P001",
         "txn_date": "2026-07-02", "txn_type": "new", "amount": "7000.00"},
        # a correction moving an April row into June
        {"txn_id": "T2026040002", "policy_no": "PL26040002", "agent_code": "010002",
         "product_code": "P002", "txn_date": "2026-06-09", "txn_type": "new", "amount": "6800.00"},
    ], "june-july.csv")
    imp(ws, "org_units", [{"org_code": "G023", "org_name": "新组", "parent_code": "D02",
                           "level": "group"}], "neworg.csv")

    real = snapshot._write_parquet
    written: list[Path] = []

    def dying_writer(tbl, path: Path) -> None:  # type: ignore[no-untyped-def]
        if "month=" in str(path) and written:
            raise RuntimeError("killed")
        real(tbl, path)
        if "month=" in str(path):
            written.append(path)

    monkeypatch.setattr(snapshot, "_write_parquet", dying_writer)
    with pytest.raises(RuntimeError, match="killed"):
        snapshot.refresh(ws)
    assert len(written) == 1
    state = json.loads((ws.analytics_dir / "state.json").read_text())
    assert state["max_batch_id"] == N_KINDS  # the state was not advanced
    monkeypatch.setattr(snapshot, "_write_parquet", real)

    info = snapshot.refresh(ws)
    assert info.refreshed and info.max_batch_id == N_KINDS + 2
    assert info.exported["premiums"] == [202604, 202605, 202606, 202607]
    repaired = contents(ws)
    assert repaired == _rebuilt(ws)
    assert len(repaired["premiums"]) == db_count(ws, "premiums")
    assert ("G023", "B01", 2) in repaired["org_ancestors"]


def test_killed_rebuild_is_redone(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace
    load_examples(ws)
    monkeypatch.setattr(snapshot, "_write_parquet", _raiser)
    with pytest.raises(RuntimeError):
        snapshot.rebuild(ws)
    monkeypatch.undo()
    info = snapshot.refresh(ws)
    assert info.refreshed and "orgs" in info.exported
    assert len(contents(ws)["premiums"]) == db_count(ws, "premiums")


def _raiser(tbl, path) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("killed")


def _rebuilt(ws: Workspace) -> dict[str, list[tuple]]:
    snapshot.rebuild(ws)
    return contents(ws)
