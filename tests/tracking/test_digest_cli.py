"""``zhuizong track digest`` end to end: markdown per recipient, and ``--send`` to loopback robots."""

from __future__ import annotations

import json
from pathlib import Path

from tests.kpi_cli.builders import cli_ok, run_cli
from tests.notify.fakes import FakeRobot, robot_server
from tests.tracking.test_effectiveness import scenario  # noqa: F401  (fixture)

SECRET = "SECtest0123456789abcdef0123456789abcdef0123456789abcdef0123456789"


def test_digest_markdown_and_send(scenario: None, home: Path, tmp_path: Path) -> None:  # noqa: F811
    cli_ok("track", "run", "--date", "2026-05-25")
    out = json.loads(cli_ok("track", "digest", "--date", "2026-05-27", "--format", "json"))
    (d,) = out["digests"]
    assert d["recipient"] == "S" and d["open"] == 4 and d["overdue"] == 4  # due 05-26
    assert "追踪日报 2026-05-27 · 主管甲" in d["markdown"]
    for p in ("P1", "P2", "P3", "P4"):
        assert f"({p})" in d["markdown"]
    assert "本月已到第 25 天仍零业绩" in d["markdown"]
    folder = tmp_path / "digests"
    cli_ok("track", "digest", "--date", "2026-05-27", "--out", str(folder))
    assert (folder / "2026-05-27_S.md").read_text("utf-8") == d["markdown"]

    with robot_server(FakeRobot("wecom")) as wecom, \
            robot_server(FakeRobot("dingtalk", secret=SECRET)) as ding:
        (home / "notify.toml").write_text(
            "[[channel]]\nname = \"team-wecom\"\ntype = \"wecom\"\n"
            f"webhook = \"{wecom.url}\"\nrecipients = [\"*\"]\n\n"
            "[[channel]]\nname = \"team-ding\"\ntype = \"dingtalk\"\n"
            f"webhook = \"{ding.url}\"\nsecret = \"{SECRET}\"\nrecipients = [\"S\"]\n",
            encoding="utf-8")
        res = json.loads(cli_ok("track", "digest", "--date", "2026-05-27", "--send", "--format", "json"))
        rep = res["delivery"]
        assert rep["ok"] is True
        assert rep["sent"] == {"team-wecom": 1, "team-ding": 1}
        (w,) = wecom.accepted
        assert w["msgtype"] == "markdown" and "主管甲" in w["markdown"]["content"]
        (g,) = ding.accepted
        assert g["msgtype"] == "markdown" and "(P4)" in g["markdown"]["text"]
        # the same day again: nothing new is queued or sent
        again = json.loads(cli_ok("track", "digest", "--date", "2026-05-27", "--send", "--format", "json"))
        assert again["delivery"]["sent"] in ({}, {"team-wecom": 0, "team-ding": 0})
        assert len(wecom.accepted) == 1 and len(ding.accepted) == 1


def test_send_refuses_without_channels_file_or_rights(scenario: None, home: Path) -> None:  # noqa: F811
    cli_ok("track", "run", "--date", "2026-05-25")
    code, _out, err = run_cli("track", "digest", "--date", "2026-05-26", "--send")
    assert code == 2 and "notify.toml" in err
