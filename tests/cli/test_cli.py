"""The public CLI, end to end on a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.example_staff import example_staff, staff_cli_args
from zhuizong.cli.main import main
from zhuizong.importing.kinds import IMPORT_ORDER

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def zhuizong_exe() -> str:
    exe = Path(sys.executable).with_name("zhuizong")
    return str(exe) if exe.exists() else shutil.which("zhuizong") or "zhuizong"


@pytest.fixture
def loaded(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "init")[0] == 0
    for kind in IMPORT_ORDER:
        if kind == "track_assignments":
            for args in staff_cli_args():
                assert run(capsys, *args)[0] == 0, args
        code, out, err = run(capsys, "import", kind, str(EXAMPLES / f"{kind}.csv"))
        assert code == 0, (kind, out, err)
    return home


def test_config_get_set_and_bad_values(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init")[0] == 0
    assert run(capsys, "config", "get", "kpi.premium_basis")[1].strip() == "received"
    code, out, _ = run(capsys, "config", "set", "kpi.premium_basis", "issued")
    assert code == 0 and "issued" in out
    assert run(capsys, "config", "get", "kpi.premium_basis")[1].strip() == "issued"
    assert "issued" in (home / "zhuizong.toml").read_text(encoding="utf-8")
    code, _, err = run(capsys, "config", "set", "kpi.active_rule", "fyc_at_least:abc")
    assert code == 2 and "kpi.active_rule" in err
    assert run(capsys, "config", "set", "kpi.active_rule", "fyc_at_least:1000")[0] == 0
    code, _, err = run(capsys, "config", "set", "no.such", "1")
    assert code == 2 and "unknown setting" in err
    # the environment overrides the file
    os.environ["ZHUIZONG_KPI_CASES"] = "gross"
    try:
        assert run(capsys, "config", "get", "kpi.cases")[1].strip() == "gross"
    finally:
        del os.environ["ZHUIZONG_KPI_CASES"]


def test_commands_before_init_fail_with_a_hint(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status")
    assert code == 3 and "zhuizong init" in err


def test_import_dry_run_status_and_reimport(loaded: Path, capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, out, _ = run(capsys, "status", "--format", "json")
    st = json.loads(out)
    assert st["row_counts"]["premiums"] > 0
    assert st["row_counts"]["employment_spells"] >= st["row_counts"]["agents"]
    assert st["row_counts"]["training_attendance"] > 0
    assert len(st["last_imports"]) == min(len(IMPORT_ORDER), 10)  # status lists the last 10
    assert {b["kind"] for b in st["last_imports"]} <= set(IMPORT_ORDER)
    # same file again: reported, nothing applied
    code, out, _ = run(capsys, "import", "premiums", str(EXAMPLES / "premiums.csv"), "--format", "json")
    assert code == 0 and json.loads(out)["status"] == "already_imported"
    # Chinese-header twin of the same rows: all unchanged
    code, out, _ = run(capsys, "import", "premiums", str(EXAMPLES / "premiums.zh.csv"), "--format", "json")
    res = json.loads(out)
    assert code == 0 and res["status"] == "committed" and res["unchanged"] == res["rows_total"]
    # a dry run of a corrected file reports the update but commits nothing
    lines = (EXAMPLES / "premiums.csv").read_text(encoding="utf-8").splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("amount")] = "99999.99"
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("\n".join([lines[0], ",".join(first)]) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "import", "premiums", str(fixed), "--dry-run", "--format", "json")
    assert code == 0 and json.loads(out)["status"] == "dry_run" and json.loads(out)["updated"] == 1
    code, out, _ = run(capsys, "status", "--format", "json")
    assert json.loads(out)["row_counts"]["import_batches"] == len(IMPORT_ORDER) + 1


def test_rejected_import_exits_nonzero_and_writes_report(loaded: Path, capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount\n"
                   "T1,P1,NOBODY,X,2026-02-30,new,-5\n", encoding="utf-8")
    report = tmp_path / "errors.csv"
    code, _out, err = run(capsys, "import", "premiums", str(bad), "--errors", str(report))
    assert code == 6
    assert "Traceback" not in err
    text = report.read_text(encoding="utf-8-sig")
    for col in ("agent_code", "txn_date", "amount"):
        assert col in text


def test_users_scopes_and_as(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "agents", "list", "--format", "json")
    agents = json.loads(out)["agents"]
    assert code == 0 and len(agents) >= 2
    # a supervisor with a reporting line: pick someone who supervises others
    sup = next(a["supervisor_code"] for a in agents if a["supervisor_code"])
    assert run(capsys, "users", "add", "sup1", "--name", "主管一", "--role", "supervisor",
               "--agent", sup)[0] == 0
    # no grant yet: sees nothing (fail closed)
    code, out, _ = run(capsys, "agents", "list", "--as", "sup1", "--format", "json")
    assert json.loads(out)["agents"] == []
    assert run(capsys, "users", "grant", "sup1", "--line", sup)[0] == 0
    code, out, _ = run(capsys, "--as", "sup1", "agents", "list", "--format", "json")
    visible = {a["agent_code"] for a in json.loads(out)["agents"]}
    assert sup in visible and len(visible) < len(agents)
    outsider = next(a["agent_code"] for a in agents if a["agent_code"] not in visible)
    code, _, err = run(capsys, "agents", "show", outsider, "--as", "sup1")
    assert code == 4 and "not found" in err
    assert run(capsys, "agents", "show", sup, "--as", "sup1")[0] == 0
    # a supervisor may not import or manage users
    code, _, err = run(capsys, "import", "ranks", str(EXAMPLES / "ranks.csv"), "--as", "sup1")
    assert code == 5
    code, _, _ = run(capsys, "users", "add", "x", "--name", "x", "--role", "admin", "--as", "sup1")
    assert code == 5
    code, out, _ = run(capsys, "users", "list", "--format", "json")
    staff = [name for name, _role in example_staff()]  # created before the assignments import
    assert sorted(u["username"] for u in json.loads(out)) == sorted(["sup1", *staff])


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed `zhuizong` executable, as a user runs it (SQLite)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    ws = tmp_path / "ws"
    r = subprocess.run([zhuizong_exe(), "init", "--home", str(ws)], capture_output=True, text=True,
                       env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([zhuizong_exe(), "--home", str(ws), "import", "org_units",
                        str(EXAMPLES / "org_units.zh.csv")], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([zhuizong_exe(), "--home", str(ws), "import", "agents", str(tmp_path / "missing.csv")],
                       capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [["import"], ["nosuch"], ["config", "get", "a.b.c"],
                                  ["users", "grant", "x", "--org", "A", "--self", "B"]])
def test_usage_errors_are_messages_not_tracebacks(tmp_path: Path, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    r = subprocess.run([zhuizong_exe(), "--home", str(tmp_path / "w"), *args], capture_output=True,
                       text=True, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and (r.stderr.strip() or r.stdout.strip())
