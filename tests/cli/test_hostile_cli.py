"""Refusals of the command line are clean (issue 19, item 5): a bilingual message, an exit code
other than 0, never a traceback, and nothing changed — for bad periods and formats, unusable
report paths, bad settings values and full disks (ENOSPC on files, "database or disk is full" from
the database)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, select

from tests.kpi_cli.builders import cli_ok, run_cli
from zhuizong.cli.main import EXIT_OS_ERROR
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "good"
BASE = ("org_units", "ranks", "products", "agents", "premiums")


def _clean(code: int, out: str, err: str, words: str, want: int | None = None) -> None:
    assert "Traceback" not in out + err, err
    assert code != 0, (out, err)
    if want is not None:
        assert code == want, (code, out, err)
    assert words in out + err, (out, err)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err), err  # the Chinese message too


@pytest.fixture
def loaded(home: Path) -> Path:
    cli_ok("init")
    for kind in BASE:
        cli_ok("import", kind, str(GOOD / f"{kind}.csv"))
    return home


def _batches(home: Path) -> int:
    ws = Workspace.open(home)
    try:
        with ws.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table("import_batches")))
                       .scalar_one())
    finally:
        ws.engine.dispose()


# --- periods and formats ----------------------------------------------------------------------


@pytest.mark.parametrize("period", ["0000", "0000-01", "0000Q1", "9999-12", "2026-13", "x"])
def test_kpi_bad_period_is_a_clean_error(loaded: Path, period: str) -> None:
    _clean(*run_cli("kpi", "--period", period), "unrecognised period", want=1)


def test_kpi_unknown_format_is_refused(loaded: Path) -> None:
    code, out, err = run_cli("kpi", "--period", "2026-05", "--format", "docx")
    _clean(code, out, err, "unknown format 'docx'", want=1)
    assert "fyp" not in out  # no table was printed


def test_kpi_org_code_is_normalised_like_imports(loaded: Path) -> None:
    plain = json.loads(cli_ok("kpi", "--period", "2026-05", "--org", "B01", "--format", "json"))
    hidden = json.loads(cli_ok("kpi", "--period", "2026-05", "--org", "B\u200b01",
                               "--format", "json"))
    wide = json.loads(cli_ok("kpi", "--period", "2026-05", "--org", "Ｂ０１", "--format", "json"))
    assert plain["rows"] == hidden["rows"] == wide["rows"] and plain["rows"]


# --- import report paths ----------------------------------------------------------------------


BAD_PREMIUMS = ("txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount\n"
                "T9001,PL9001,A002,P01,2026-05-06,new,-1\n")


@pytest.mark.parametrize("report, words", [
    ("missing/errors.xlsx", "does not exist"),
    ("errors.docx", "must be .xlsx or .csv"),
    (".", "must be .xlsx or .csv"),
])
def test_errors_report_path_refused_before_importing(loaded: Path, tmp_path: Path, report: str,
                                                     words: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(BAD_PREMIUMS, encoding="utf-8")
    n = _batches(loaded)
    good = tmp_path / "good.csv"
    good.write_text(BAD_PREMIUMS.replace("-1", "100"), encoding="utf-8")
    for path in (f, good):  # refused before the import runs: even a good file is not imported
        _clean(*run_cli("import", "premiums", str(path), "--errors", str(tmp_path / report)),
               words, want=1)
    assert _batches(loaded) == n


def test_errors_report_into_a_full_disk(loaded: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(BAD_PREMIUMS, encoding="utf-8")
    report = tmp_path / "errors.csv"
    report.symlink_to("/dev/full")
    _clean(*run_cli("import", "premiums", str(f), "--errors", str(report)),
           "cannot write the error report", want=1)


# --- settings ---------------------------------------------------------------------------------


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder of its own (no database needed), without the test database's URL."""
    h = tmp_path / "bare"
    for var in [v for v in os.environ if v.startswith("ZHUIZONG_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("ZHUIZONG_HOME", str(h))
    cli_ok("init")
    return h


@pytest.mark.parametrize("url", ["garbage://x", "postgresql://u@h/db", "mysql://u@h/db",
                                 "sqlite", "not a url", "postgresql+psycopg://u@h/db x"])
def test_bad_database_url_refused_at_set_time(bare: Path, url: str) -> None:
    before = (bare / "zhuizong.toml").read_text(encoding="utf-8")
    _clean(*run_cli("config", "set", "database.url", url), "invalid value for database.url",
           want=2)
    assert (bare / "zhuizong.toml").read_text(encoding="utf-8") == before
    cli_ok("status")  # the workspace still works


@pytest.mark.parametrize("url", ["", "sqlite:///x.db", "postgresql+psycopg://zz:pw@db.internal:5432/zz"])
def test_good_database_url_accepted(bare: Path, url: str) -> None:
    cli_ok("config", "set", "database.url", url)
    assert cli_ok("config", "get", "database.url").strip() == url


#: wrong values of every setting (types, ranges, enums, shapes); a new setting without one fails
#: test_every_setting_has_wrong_values
WRONG_VALUES: dict[str, tuple[str, ...]] = {
    "database.url": ("garbage://x", "sqlite://", "sqlite:///", "sqlite:///:memory:"),
    "calendar.month_basis": ("lunar", "Natural", ""),
    "calendar.cutoff_day": ("0", "29", "abc", "2.5", "9" * 30),
    "kpi.premium_basis": ("paid", ""),
    "kpi.active_rule": ("fyc_at_least:-5", "fyc_at_least:", "fyc_at_least:1.234", "everyone", ""),
    "kpi.cases": ("both",),
    "kpi.average_headcount": ("median",),
    "kpi.persistency_grace_days": ("367", "x"),
    "import.max_file_mb": ("0", "10001", "1e3"),
    "import.max_xlsx_uncompressed_mb": ("0", "100001"),
    "tracking.owner_precedence": ("boss", "", "supervisor,supervisor"),
    "tracking.rules_file": ("", "/etc/passwd", "../x.toml", "a/../../x.toml", "sub/", "rules.txt",
                            "C:rules.toml"),
    "tracking.escalation_days": ("31", "soon"),
    "tracking.lift_window_days": ("0", "61"),
    "web.cookie_secure": ("sometimes", "true"),
    "web.session_hours": ("0", "721"),
    "web.login_max_failures": ("0", "101"),
    "web.login_lock_minutes": ("0", "1441"),
    "web.default_lang": ("fr", "ZH"),
}


def test_every_setting_has_wrong_values() -> None:
    from zhuizong.settings import SETTINGS

    assert set(WRONG_VALUES) == set(SETTINGS), set(SETTINGS) ^ set(WRONG_VALUES)


@pytest.mark.parametrize("key, value", [(k, v) for k, vs in WRONG_VALUES.items() for v in vs])
def test_wrong_setting_value_refused_at_set_time(bare: Path, key: str, value: str) -> None:
    before = (bare / "zhuizong.toml").read_text(encoding="utf-8")
    _clean(*run_cli("config", "set", key, "--", value), key, want=2)
    assert (bare / "zhuizong.toml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("key, value", [("calendar.cutoff_day", "-1"), ("kpi.persistency_grace_days", "-1"),
                                        ("tracking.escalation_days", "-3")])
def test_negative_number_refused(bare: Path, key: str, value: str) -> None:
    """``--`` lets a negative value through the option parser; the range refuses it."""
    before = (bare / "zhuizong.toml").read_text(encoding="utf-8")
    _clean(*run_cli("config", "set", key, "--", value), f"invalid value for {key}", want=2)
    assert (bare / "zhuizong.toml").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("key, value", [("tracking.rules_file", "rules/tracking.toml"),
                                        ("kpi.active_rule", "fyc_at_least:1000.5"),
                                        ("tracking.owner_precedence", "trainer,supervisor"),
                                        ("web.default_lang", "en")])
def test_good_setting_value_accepted(bare: Path, key: str, value: str) -> None:
    cli_ok("config", "set", key, value)
    assert cli_ok("config", "get", key).strip() == value


def test_unknown_setting_and_language(bare: Path) -> None:
    _clean(*run_cli("config", "set", "web.nosuch", "1"), "unknown setting 'web.nosuch'", want=2)
    _clean(*run_cli("--lang", "fr", "status"), "unknown language fr")


def test_config_set_on_a_full_disk(bare: Path) -> None:
    before = (bare / "zhuizong.toml").read_text(encoding="utf-8")
    (bare / "zhuizong.toml.tmp").symlink_to("/dev/full")  # writes fail with ENOSPC
    _clean(*run_cli("config", "set", "kpi.cases", "gross"), "the disk is full", want=EXIT_OS_ERROR)
    assert (bare / "zhuizong.toml").read_text(encoding="utf-8") == before


def test_config_set_in_a_read_only_workspace(bare: Path) -> None:
    if os.geteuid() == 0:
        # root writes through permissions; the read-only case is the full-disk one's sibling
        # (the errno a write to /proc gives varies by kernel: the settings file must be named)
        (bare / "zhuizong.toml.tmp").symlink_to("/proc/version")
        words = str(bare / "zhuizong.toml")
    else:
        bare.chmod(0o500)
        words = "cannot write"
    try:
        _clean(*run_cli("config", "set", "kpi.cases", "gross"), words, want=EXIT_OS_ERROR)
    finally:
        bare.chmod(0o700)


# --- a full database --------------------------------------------------------------------------


def _disk_full_error(dialect: str) -> Exception:
    if dialect == "sqlite":
        return sqlite3.OperationalError("database or disk is full")
    return psycopg.errors.DiskFull('could not extend file "base/16384/2619": No space left on device')


def _writes_fail(error: Callable[[str], Exception]) -> Iterator[None]:
    """While it runs, every write statement fails with ``error(dialect)`` (the DB-API error the
    driver raises, wrapped by SQLAlchemy as for the real condition)."""

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "CREATE", "COPY")):
            raise error(conn.dialect.name)

    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)


@pytest.fixture
def full_database(loaded: Path) -> Iterator[None]:
    """Every write statement fails as the database does when its disk is full."""
    yield from _writes_fail(_disk_full_error)


@pytest.mark.parametrize("command", [
    ("users", "add", "newbie", "--name", "新人", "--role", "agent", "--password", "pw-123456789"),
    ("track", "run", "--date", "2026-05-29"),
    ("assess", "run", "--period", "2026Q2", "--date", "2026-06-30", "--rules",
     str(Path(__file__).parents[2] / "src/zhuizong/basiclaw/examples/ladder.toml")),
], ids=["users_add", "track_run", "assess_run"])
def test_full_disk_under_database_writes(full_database: None, command: tuple[str, ...]) -> None:
    _clean(*run_cli(*command), "disk is full", want=EXIT_OS_ERROR)


def test_full_disk_under_an_import(loaded: Path, full_database: None, tmp_path: Path) -> None:
    f = tmp_path / "new.csv"
    f.write_text(BAD_PREMIUMS.replace("-1", "100"), encoding="utf-8")
    code, out, err = run_cli("import", "premiums", str(f), "--format", "json")
    assert "Traceback" not in out + err
    result = json.loads(out)
    assert code == 6 and result["status"] == "rejected"
    assert "disk is full" in result["errors"][0]["reason_en"]


# --- unknown --format on every command that has one ---------------------------------------------


def _format_commands() -> list[tuple[str, ...]]:
    """Every command with a ``--format`` option, walked from the command tree (a new one is
    covered without listing it here)."""
    import typer

    from zhuizong.cli.main import app

    out: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        elif any("--format" in getattr(p, "opts", ()) for p in cmd.params):
            out.append(path)

    walk(typer.main.get_command(app), ())
    return out


FORMAT_COMMANDS = _format_commands()


def test_format_commands_found() -> None:
    assert {("kpi",), ("track", "run"), ("assess", "run"), ("status",), ("campaign", "honors")} \
        <= set(FORMAT_COMMANDS), FORMAT_COMMANDS


@pytest.mark.parametrize("command", FORMAT_COMMANDS, ids=" ".join)
def test_unknown_format_refused_before_the_command_runs(bare: Path, command: tuple[str, ...]) -> None:
    before = _dump(bare / "zhuizong.db")
    code, out, err = run_cli(*command, "--format", "docx")
    _clean(code, out, err, "unknown format 'docx'", want=1)
    assert _dump(bare / "zhuizong.db") == before  # refused while the command line was read


def _dump(db: Path) -> list[str]:
    """Every row of the database (not its bytes: SQLite may rewrite pages without a change)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# --- a read-only database ----------------------------------------------------------------------


def _read_only_error(dialect: str) -> Exception:
    if dialect == "sqlite":  # a read-only database file or folder
        return sqlite3.OperationalError("attempt to write a readonly database")
    # a hot standby, or default_transaction_read_only = on
    return psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction")


@pytest.fixture
def read_only_database(loaded: Path) -> Iterator[None]:
    """Every write statement fails as a read-only database answers it (each driver's own error)."""
    yield from _writes_fail(_read_only_error)


@pytest.mark.parametrize("command", [
    ("users", "add", "newbie", "--name", "新人", "--role", "agent", "--password", "pw-123456789"),
    ("track", "run", "--date", "2026-05-29"),
    ("assess", "run", "--period", "2026Q2", "--date", "2026-06-30", "--rules",
     str(Path(__file__).parents[2] / "src/zhuizong/basiclaw/examples/ladder.toml")),
    ("campaign", "define", "--id", "ro", "--name", "只读", "--period", "2026-05", "--measure", "fyp",
     "--tier", "铜:1000"),
], ids=["users_add", "track_run", "assess_run", "campaign_define"])
def test_read_only_database_is_a_clean_error(read_only_database: None, command: tuple[str, ...]) -> None:
    code, out, err = run_cli(*command)
    _clean(code, out, err, "the database is read-only", want=EXIT_OS_ERROR)
    assert "disk is full" not in err  # says what it is


# --- ids beyond 64 bits ------------------------------------------------------------------------

BIG = "9" * 23


@pytest.mark.parametrize("command, words", [
    (("track", "show", BIG), "tracking item"),
    (("track", "record", BIG, "--method", "phone", "--outcome", "contacted"), "tracking item"),
    (("track", "close", BIG, "--reason", "x"), "tracking item"),
    (("track", "reassign", BIG, "--to", "admin"), "tracking item"),
    (("track", "snooze", BIG, "--until", "2027-01-01"), "tracking item"),
    (("track", "raise", BIG, "--category", "other", "--note", "x"), "tracking item"),
    (("track", "answer", BIG, "--note", "x"), "raise"),
    (("track", "show", "0"), "tracking item"),
], ids=lambda c: " ".join(c[:2]) if isinstance(c, tuple) else c)
def test_id_beyond_64_bits_is_not_found(loaded: Path, command: tuple[str, ...], words: str) -> None:
    code, out, err = run_cli(*command)
    _clean(code, out, err, f"{words} {command[2]} not found", want=4)
