"""Column-wise validation: every type, folding, constraints, duplicates, references."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuizong.importing.kinds import KINDS
from zhuizong.importing.normalize import map_headers
from zhuizong.importing.validate import (
    check_references,
    fen_to_yuan,
    parse_money,
    validate_columns,
)
from zhuizong.store.db import atomic


def run(kind: str, **cols: list[object]):  # type: ignore[no-untyped-def]
    n = len(next(iter(cols.values())))
    arrays = {k: pa.array(v, type=pa.string()) for k, v in cols.items()}
    return validate_columns(KINDS[kind], arrays, np.arange(2, n + 2))


def errs(v) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(e.row, e.column) for e in v.errors]


def test_dates_all_formats_and_full_width() -> None:
    v = run("attendance", agent_code=["A"] * 6, meeting=["早会"] * 6, status=["出席"] * 6,
            date=["2026-05-01", "2026/5/2", "20260503", "２０２６－０５－０４", " 2026-05-05\u3000",
                  "2026-05-06 00:00:00"])
    assert v.ok, v.errors
    assert v.columns["date"].to_pylist() == [dt.date(2026, 5, d) for d in range(1, 7)]
    assert v.columns["meeting"].to_pylist() == ["morning"] * 6
    assert (v.min_date, v.max_date) == (dt.date(2026, 5, 1), dt.date(2026, 5, 6))


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "05/01/2026", "2026-5", "abc", "0202-01-01"])
def test_bad_dates(bad: str) -> None:
    v = run("attendance", agent_code=["A"], meeting=["morning"], status=["present"], date=[bad])
    [e] = v.errors
    assert (e.row, e.column, e.value) == (2, "date", bad)
    assert e.reason_zh.startswith("日期格式应为 YYYY-MM-DD") and e.reason_en.startswith("date must be YYYY-MM-DD")


def test_money_ints_enums_and_required() -> None:
    v = run("premiums",
            txn_id=["T1", "T2", "T3", "T4", "T5"],
            policy_no=["P", "P", "P", "P", ""],
            agent_code=["A"] * 5, product_code=["X"] * 5,
            txn_date=["2026-01-01"] * 5,
            txn_type=["NEW", "新契约", "续期", "Renewal", "bogus"],
            amount=["1,234.50", "１２３", "0.1", "12.345", "0"],
            policy_year=["1", "2.0", "", "x", "-1"],
            fyc=["-5.5", "", "1,23", "7", "8"])
    assert v.columns["txn_type"].to_pylist()[:4] == ["new", "new", "renewal", "renewal"]
    assert v.columns["amount_fen"].to_pylist()[:3] == [123450, 12300, 10]
    assert v.columns["policy_year"].to_pylist()[:3] == [1, 2, None]
    assert v.columns["fyc_fen"].to_pylist()[0] == -550
    assert errs(v) == [
        (2, "fyc"),  # FYC is given positive, like amount (data contract); the sign is the type's
        (4, "fyc"),  # "1,23" is not a thousands grouping
        (5, "amount"), (5, "policy_year"),
        (6, "policy_no"), (6, "txn_type"), (6, "amount"), (6, "policy_year"),
    ]
    by = {(e.row, e.column): e for e in v.errors}
    assert "必填" in by[(6, "policy_no")].reason_zh
    assert "positive" in by[(6, "amount")].reason_en
    assert "new" in by[(6, "txn_type")].reason_en


def test_bool_decimal_and_code_folding() -> None:
    v = run("products", product_code=[" ＰＲ０１ ", "\u00a0P2", "P3", "P4"],
            product_name=["寿险", "附加", "x", "y"],
            is_main=["是", "N", "TRUE", "maybe"], pay_mode=["期交", "single", "趸交", "regular"],
            fyc_rate=["0.35", ".5", "1234.5", "-0.1"], std_factor=["1", "", "2.5", "0"])
    assert v.columns["product_code"].to_pylist() == ["PR01", "P2", "P3", "P4"]
    assert v.columns["is_main"].to_pylist()[:3] == [True, False, True]
    assert v.columns["fyc_rate"].to_pylist()[:2] == ["0.35", "0.5"]
    assert errs(v) == [(4, "fyc_rate"), (5, "is_main"), (5, "fyc_rate")]


def test_periods() -> None:
    v = run("plans", org_code=["B1", "B2", "B3", "B4", "B5"], metric=["fyp"] * 5, target=["1"] * 5,
            period=["2026-05", "2026q2", "2026", "2026-5", "2026-13"])
    assert v.columns["period"].to_pylist()[:4] == ["2026-05", "2026Q2", "2026", "2026-05"]
    assert errs(v) == [(6, "period")]


def test_duplicate_keys_name_the_first_row() -> None:
    v = run("attendance", agent_code=["A", "A", "B", "a"], date=["2026-05-01", "2026/05/01",
                                                                 "2026-05-01", "2026-05-01"],
            meeting=["morning"] * 4, status=["present"] * 4)
    [e] = v.errors
    assert e.row == 3 and "row 2" in e.reason_en and "第 2 行" in e.reason_zh


def test_leave_before_hire() -> None:
    v = run("agents", agent_code=["A", "B"], agent_name=["x", "y"],
            hire_date=["2024-01-01", "2024-01-01"], org_code=["O", "O"], rank_code=["R", "R"],
            leave_date=["2023-12-31", "2024-01-01"])
    assert errs(v) == [(2, "leave_date")]


def test_headers_codes_labels_duplicates_unknown() -> None:
    kind = KINDS["agents"]
    codes, problems = map_headers(kind, ["\ufeffAGENT_CODE", "姓名", " 入司日期 ", "org_code",
                                         "rank_code"])
    assert codes == ["agent_code", "agent_name", "hire_date", "org_code", "rank_code"]
    assert problems == []
    _, problems = map_headers(kind, ["agent_code", "工号", "agent_nmae", "hire_date"])
    reasons = " | ".join(p.reason_en for p in problems)
    assert "duplicate column" in reasons and "unknown column 'agent_nmae'" in reasons
    assert "missing required column agent_name" in reasons
    assert "org_code (机构代码)" in reasons  # the allowed headers are listed
    assert all(p.row == 0 for p in problems)


def test_typed_frame_columns() -> None:
    kind = KINDS["premiums"]
    cols = {
        "txn_id": pa.array(["T1", "T2"]), "policy_no": pa.array(["P", "P"]),
        "agent_code": pa.array([1001, 1002]), "product_code": pa.array(["X", "X"]),
        "txn_date": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2)]),
        "txn_type": pa.array(["new", "new"]),
        "amount": pa.array([12.34, 0.1 + 0.2]), "fyc": pa.array([5, 7]),
        "policy_year": pa.array([1, 2]),
    }
    v = validate_columns(kind, cols, np.array([2, 3]))
    assert v.ok, v.errors
    assert v.columns["agent_code"].to_pylist() == ["1001", "1002"]
    assert v.columns["amount_fen"].to_pylist() == [1234, 30]
    assert v.columns["fyc_fen"].to_pylist() == [500, 700]
    cols["amount"] = pa.array([12.345, 1.0])
    v = validate_columns(kind, cols, np.array([2, 3]))
    assert errs(v) == [(2, "amount")]


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_money_round_trip(fen: int) -> None:
    yuan = fen_to_yuan(fen)
    with_commas = f"{'-' if fen < 0 else ''}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
    parsed, bad, _, _ = parse_money(pa.array([yuan, with_commas]))
    assert parsed.to_pylist() == [fen, fen]
    assert not any(bad.to_pylist())


def test_references_against_file_and_database(workspace) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from zhuizong.importing.service import import_frame

    r = import_frame(workspace, "org_units", pd.DataFrame({"org_code": ["HQ"], "org_name": ["总"]}),
                     source_name="o")
    assert r.status == "committed"
    v = run("org_units", org_code=["B1", "B2", "B3"], org_name=["a", "b", "c"],
            parent_code=["HQ", "B1", "NOPE"])
    assert v.ok
    with atomic(workspace.engine) as conn:
        errors = check_references(conn, v)
    assert [(e.row, e.column, e.value) for e in errors] == [(4, "parent_code", "NOPE")]
    assert errors[0].reason_zh == "未知的机构代码" and errors[0].reason_en == "unknown org_code"
