"""The documentation stays in step with the registries it documents (datasette's habit).

Fails when a setting, an import kind, one of its column codes or Chinese labels is missing from the
docs, when a generated block is stale (run ``make docs``), or when the example files of a kind are
missing, inconsistent, or no longer import cleanly.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select, table

from tests.example_staff import create_example_staff
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS
from zhuizong.settings import SETTINGS
from zhuizong.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
BOM = "\ufeff"


def _gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zz_gen_docs", DOCS / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


# --- the reference is complete ------------------------------------------------------------------


@pytest.mark.parametrize("key", list(SETTINGS))
def test_setting_documented(key: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`{key}`" in text, f"setting {key} is not documented in docs/configuration.md"
    section, name = key.split(".")
    env = f"ZHUIZONG_{section.upper()}_{name.upper()}"
    assert env in text, f"{env} is not documented in docs/configuration.md"


@pytest.mark.parametrize("kind", list(KINDS))
def test_import_kind_documented(kind: str) -> None:
    text = (DOCS / "import-guide.md").read_text(encoding="utf-8")
    k = KINDS[kind]
    assert f"`{kind}`" in text, f"import kind {kind} is missing from docs/import-guide.md"
    assert k.zh in text
    for c in k.columns:
        assert f"`{c.code}`" in text, f"{kind}.{c.code} is missing from docs/import-guide.md"
        assert f"| {c.zh} |" in text, f"{kind}.{c.code} label {c.zh} is missing"
        for label in c.synonyms:
            assert f"`{label}`" in text, f"{kind}.{c.code} synonym {label} is missing"


def test_generated_blocks_are_current() -> None:
    gen = _gen_docs()
    stale = [
        str(path.relative_to(ROOT))
        for path, (current, new) in gen.render_all(DOCS).items()
        if current != new
    ]
    assert not stale, f"generated docs are stale, run `make docs`: {stale}"


def test_render_replaces_only_the_block() -> None:
    gen = _gen_docs()
    text = (
        "before\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nafter\n"
    )
    out = gen.render(text, "x", "NEW")
    assert out.startswith("before\n") and out.endswith("after\n")
    assert "NEW" in out and "old" not in out
    assert gen.render(out, "x", "NEW") == out
    with pytest.raises(ValueError):
        gen.render("no markers", "x", "NEW")


# --- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_examples_exist_and_agree(kind: str) -> None:
    k = KINDS[kind]
    en_path, zh_path = EXAMPLES / f"{kind}.csv", EXAMPLES / f"{kind}.zh.csv"
    assert en_path.is_file(), f"missing {en_path.relative_to(ROOT)}"
    assert zh_path.is_file(), f"missing {zh_path.relative_to(ROOT)}"
    assert zh_path.read_text(encoding="utf-8").startswith(BOM), f"{zh_path.name} needs a BOM"
    en, zh = _rows(en_path), _rows(zh_path)
    assert en[0] == [c.code for c in k.columns]
    assert zh[0] == [c.zh for c in k.columns]
    assert len(en) == len(zh) > 1
    # The Chinese file holds the same rows: map its labels back to codes and compare.
    bool_codes = {"是": "1", "否": "0"}
    for line, (en_row, zh_row) in enumerate(zip(en[1:], zh[1:], strict=True), start=2):
        back = []
        for c, value in zip(k.columns, zh_row, strict=True):
            if c.synonyms:
                value = c.synonyms.get(value, value)
            elif c.type == "bool":
                value = bool_codes.get(value, value)
            back.append(value)
        assert back == en_row, f"{zh_path.name} row {line} differs from {en_path.name}"


def _example_rows(kind: str) -> int:
    return len(_rows(EXAMPLES / f"{kind}.csv")) - 1


def _import_set(ws: Workspace, suffix: str) -> dict[str, object]:
    from zhuizong.importing.service import import_file

    results = {}
    for kind in IMPORT_ORDER:
        if kind == "track_assignments":
            create_example_staff(ws)
        path = EXAMPLES / f"{kind}{suffix}"
        results[kind] = import_file(ws, kind, path)
    return results


def _table_count(ws: Workspace, name: str) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())


@pytest.mark.parametrize("suffix", [".csv", ".zh.csv"], ids=["english", "chinese"])
def test_examples_import_cleanly(workspace: Workspace, suffix: str) -> None:
    results = _import_set(workspace, suffix)
    for kind, result in results.items():
        n = _example_rows(kind)
        errors = [
            (e.row, e.column, e.value, e.reason_en) for e in getattr(result, "errors", [])
        ][:5]
        assert result.status == "committed", f"{kind}{suffix}: {result.status} {errors}"
        assert result.rows_total == n, f"{kind}{suffix}"
        assert result.inserted == n, f"{kind}{suffix}"
        assert _table_count(workspace, KINDS[kind].table) == n, f"{kind}{suffix}"


def test_examples_reimport_is_idempotent(workspace: Workspace) -> None:
    """Same file again: recognised, not re-applied. The Chinese set: the same rows, unchanged."""
    from zhuizong.importing.service import import_file

    _import_set(workspace, ".csv")
    again = import_file(workspace, "premiums", EXAMPLES / "premiums.csv")
    assert again.status == "already_imported"
    for kind, result in _import_set(workspace, ".zh.csv").items():
        n = _example_rows(kind)
        assert result.status == "committed", f"{kind}.zh.csv: {result.status}"
        assert (result.inserted, result.updated, result.unchanged) == (0, 0, n), (
            f"{kind}.zh.csv should hold the same rows as {kind}.csv"
        )
        assert _table_count(workspace, KINDS[kind].table) == n
