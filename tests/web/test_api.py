"""REST API ``/api/v1`` on the hand-built agency (:mod:`tests.web.agency`): the same answers as
the CLI (data-contract JSON), scoped, audited exports, bilingual errors, and a precise OpenAPI.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.kpi_cli.builders import cli_ok
from tests.web import agency
from tests.web.agency import Web
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


@dataclass
class World:
    ws: Workspace
    home: str
    items: list[dict[str, Any]]
    webs: dict[str, Web]

    def item(self, subject: str) -> int:
        return next(x["id"] for x in self.items if x["subject_code"] == subject and x["subject_type"] == "agent")

    def cli(self, *args: str) -> Any:
        return json.loads(cli_ok("--home", self.home, *args))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = agency.sqlite_copy(tmp_path_factory.mktemp("api") / "ws", tmp_path_factory.mktemp("agency-template"))
    with agency.env(""):
        items = agency.items(home)
        ws = Workspace.open(home)
        webs = {u: agency.web_for(ws, u) for u in ("admin", "s", "r1")}
        webs["anon"] = agency.web_for(ws, None)
        yield World(ws, str(home), items, webs)
        for w in webs.values():
            w.client.close()
        ws.engine.dispose()


def _audit(ws: Workspace, action: str) -> list[dict[str, Any]]:
    a = table("audit_log")
    with ws.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(a).where(a.c.action == action).order_by(a.c.id)).mappings()]


def _api_operations(ws: Workspace) -> list[tuple[str, str]]:
    from zhuizong.web.app import create_app

    spec = create_app(ws).openapi()
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]


# --- authentication --------------------------------------------------------------------------


def test_every_api_route_needs_a_session(world: World) -> None:
    anon = world.webs["anon"]
    ops = _api_operations(world.ws)
    assert len(ops) >= 12
    for method, path in ops:
        url = path.replace("{code}", "S").replace("{item_id}", "1")
        r = anon.client.request(method, url, params={"period": "2026-05"}, json={} if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.json() == {"detail": "login required", "detail_zh": "请先登录"}


def test_me(world: World) -> None:
    me = world.webs["s"].get("/api/v1/me").json()
    assert me["username"] == "s" and me["agent_code"] == "S" and me["roles"] == ["supervisor"]
    assert {"view_agents", "view_tracking", "record_tracking"} <= set(me["permissions"])
    assert "import" not in me["permissions"]
    assert me["csrf_token"] == world.webs["s"].csrf
    assert "view_tracking" not in world.webs["r1"].get("/api/v1/me").json()["permissions"]


# --- organisation ----------------------------------------------------------------------------


def test_orgs_and_agents(world: World) -> None:
    admin, s = world.webs["admin"], world.webs["s"]
    body = admin.get("/api/v1/orgs").json()
    from zhuizong.web.api import OrgsOut

    OrgsOut.model_validate(body)  # written without the response model: still its shape
    orgs = body["org_units"]
    assert [o["org_code"] for o in orgs] == sorted(o[0] for o in agency.ORGS)
    assert next(o for o in orgs if o["org_code"] == "G1") == {
        "org_code": "G1", "org_name": "一组", "parent_code": "D1", "level": "group"}
    assert s.get("/api/v1/orgs").json() == {"org_units": []}  # a reporting line holds no org units

    got = admin.get("/api/v1/agents", params={"org": "G1"}).json()
    assert [a["agent_code"] for a in got["agents"]] == ["R1", "R2", "S"] and got["total"] == 3
    got = admin.get("/api/v1/agents", params={"q": "外分"}).json()  # name contains
    assert [a["agent_code"] for a in got["agents"]] == ["X", "XR"]
    got = admin.get("/api/v1/agents", params={"q": "qr"}).json()  # code, case-insensitive
    assert [a["agent_code"] for a in got["agents"]] == ["QR"]
    got = admin.get("/api/v1/agents", params={"limit": 2}).json()
    assert len(got["agents"]) == 2 and got["total"] == len(agency.AGENTS)
    assert s.get("/api/v1/agents", params={"q": "外分"}).json() == {"agents": [], "total": 0}
    assert admin.get("/api/v1/agents", params={"limit": 0}).status_code == 422


def test_agent_detail_and_activity(world: World) -> None:
    s = world.webs["s"]
    d = s.get("/api/v1/agents/R1").json()
    assert d["agent"] == {"agent_code": "R1", "agent_name": "直辖一", "org_code": "G1", "rank_code": "A",
                          "supervisor_code": "S", "hire_date": "2024-01-01", "leave_date": None}
    assert d["spells"] == [{"hire_date": "2024-01-01", "leave_date": None}]
    assert d["history"][0]["org_code"] == "G1" and d["history"][0]["supervisor_code"] == "S"
    act = s.get("/api/v1/agents/R1/activity", params={"on": "2026-04-30", "days": 30}).json()
    assert act["on"] == "2026-04-30" and act["days"] == 30
    (p,) = act["premiums"]
    assert p["txn_type"] == "new" and p["amount"] == 1200.0  # R1 is the agency's third agent
    assert act["production"]["fyp"] == 1200.0
    assert s.get("/api/v1/agents/R1/activity", params={"days": 1000}).status_code == 422


# --- KPIs ------------------------------------------------------------------------------------


def test_kpi_is_the_cli_json(world: World) -> None:
    admin = world.webs["admin"]
    for params in ({"period": "2026-04"},
                   {"period": "2026-04", "org": "B1", "by": "children", "metrics": "fyp,active,activity_rate"},
                   {"period": "2026-04", "org": "G1", "by": "agent", "metrics": "fyp,cases"},
                   {"period": "2026", "as_of": "2026-04-30", "segment": "rank_category", "metrics": "fyp"}):
        r = admin.get("/api/v1/kpi", params=params)
        assert r.status_code == 200, (params, r.text)
        args = [x for k, v in params.items() for x in (f"--{k.replace('_', '-')}", v)]
        assert r.json() == world.cli("--as", "admin", "kpi", *args, "--format", "json"), params
        from zhuizong.web.api import KpiOut

        KpiOut.model_validate(r.json())  # written without the response model: still its shape


def test_kpi_scope_and_errors(world: World) -> None:
    s, admin = world.webs["s"], world.webs["admin"]
    r = s.get("/api/v1/kpi", params={"period": "2026-04", "org": "G1"})
    assert r.status_code == 404 and r.json()["detail_zh"]
    r = admin.get("/api/v1/kpi", params={"period": "not-a-period"})
    assert r.status_code == 400
    assert "period" in r.json()["detail"] and "期间" in r.json()["detail_zh"]
    r = admin.get("/api/v1/kpi", params={"period": "2026-04", "as_of": "yesterday"})
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["loc"] == ["query", "as_of"] and body["detail_zh"].startswith("请求参数有误")
    assert admin.get("/api/v1/kpi").status_code == 422  # period is required
    r = admin.get("/api/v1/kpi", params={"period": "2026-04", "metrics": "no_such_metric"})
    assert r.status_code in (400, 404) and r.json()["detail_zh"]


def test_kpi_by_agent_for_a_reporting_line_supervisor(world: World) -> None:
    """``s`` (scope: the reporting line S, no org unit) gets per-agent KPIs of exactly their
    people, under the root or any unit holding some of them; never an org total; a unit with none
    of their people is not found."""
    s, admin = world.webs["s"], world.webs["admin"]
    line = agency.visible_agents("s")
    assert line == {"S", "R1", "R2"}
    for org in (None, "HQ", "B1", "G1"):
        params = {"period": "2026-04", "by": "agent", "metrics": "fyp,cases"} | ({"org": org} if org else {})
        r = s.get("/api/v1/kpi", params=params)
        assert r.status_code == 200, (org, r.text)
        rows = r.json()["rows"]
        assert {x["agent_code"] for x in rows} == line, org
        full = admin.get("/api/v1/kpi", params=params).json()["rows"]
        assert [x for x in full if x["agent_code"] in line] == rows  # the same numbers as admin's
        assert len(full) > len(rows) or org == "G1"
    for org in ("G2", "G3", "B2", "NOPE"):
        r = s.get("/api/v1/kpi", params={"period": "2026-04", "by": "agent", "org": org})
        assert r.status_code == 404, (org, r.text)
    for by in (None, "children", "subtree"):  # org aggregates stay out of a line-only scope
        params = {"period": "2026-04"} | ({"by": by} if by else {})
        assert s.get("/api/v1/kpi", params=params).status_code == 404, by
    assert world.webs["r1"].get("/api/v1/kpi", params={"period": "2026-04", "by": "agent"}).json()[
        "rows"][0]["agent_code"] == "R1"


def test_kpi_csv_export_is_audited(world: World) -> None:
    admin = world.webs["admin"]
    before = len(_audit(world.ws, "export"))
    r = admin.get("/api/v1/kpi.csv", params={"period": "2026-04", "org": "G1", "by": "agent", "metrics": "fyp"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="kpi-G1-2026-04.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 Chinese correctly
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {x["agent_code"]: float(x["value"]) for x in rows} == {"S": 1100.0, "R1": 1200.0, "R2": 1300.0}
    audit = _audit(world.ws, "export")
    assert len(audit) == before + 1
    row = audit[-1]
    assert (row["actor"], row["object_type"], row["object_id"]) == ("admin", "kpi", "csv")
    detail = json.loads(row["detail"])
    assert detail["org"] == "G1" and detail["period"] == "2026-04" and detail["rows"] == 3


def test_kpi_xlsx_export(world: World) -> None:
    from openpyxl import load_workbook

    admin = world.webs["admin"]
    r = admin.get("/api/v1/kpi.xlsx", params={"period": "2026-04", "org": "B1", "by": "children"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb["KPI"]
    assert [c.value for c in sheet[1]][:5] == ["org_code", "org_name", "agent_code", "segment", "metric"]
    assert {c.value for c in sheet["A"][1:]} == {"D1"}
    assert _audit(world.ws, "export")[-1]["object_id"] == "xlsx"
    # a supervisor cannot export what they cannot see, and nothing is audited as exported
    n = len(_audit(world.ws, "export"))
    assert world.webs["s"].get("/api/v1/kpi.xlsx", params={"period": "2026-04", "org": "B1"}).status_code == 404
    assert len(_audit(world.ws, "export")) == n


# --- tracking --------------------------------------------------------------------------------


def test_tracking_list_is_the_cli_json(world: World) -> None:
    for user in ("s", "admin"):
        api = world.webs[user].get("/api/v1/tracking/items", params={"status": "all"}).json()
        cli = world.cli("--as", user, "track", "list", "--status", "all", "--format", "json")
        assert sorted(api["items"], key=lambda x: x["id"]) == sorted(cli["items"], key=lambda x: x["id"])
    s = world.webs["s"]
    mine = s.get("/api/v1/tracking/items", params={"owner": "me", "status": "all"}).json()["items"]
    assert {x["subject_code"] for x in mine} == {"R1"}  # S owns the item of the direct report
    assert all(x["mine"] for x in mine)
    coaching = s.get("/api/v1/tracking/items", params={"link": "coaching", "status": "all"}).json()["items"]
    assert {x["subject_code"] for x in coaching} == {"S", "R1", "R2"}
    assert s.get("/api/v1/tracking/items", params={"link": "nonsense"}).status_code == 422
    assert s.get("/api/v1/tracking/items", params={"status": "nonsense"}).status_code == 422
    assert world.webs["r1"].get("/api/v1/tracking/items").status_code == 403


def test_item_record_and_close(world: World) -> None:
    s = world.webs["s"]
    item = world.item("R2")
    got = s.get(f"/api/v1/tracking/items/{item}").json()
    assert got["subject_code"] == "R2" and got["records"] == [] and got["reasons"][0]["rule"]
    assert got["events"][0]["event"]

    r = s.post(f"/api/v1/tracking/items/{item}/records",
               json={"method": "wechat", "outcome": "committed", "finding": " 客户在外地 ", "note": ""})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "recorded"
    (rec,) = body["records"]
    assert (rec["author"], rec["method"], rec["outcome"], rec["finding"], rec["note"]) == \
        ("s", "wechat", "committed", "客户在外地", None)
    assert s.get(f"/api/v1/tracking/items/{item}").json()["records"] == body["records"]

    # bad input: the service's bilingual 400, or the request's 422
    r = s.post(f"/api/v1/tracking/items/{item}/records", json={"method": "pigeon", "outcome": "committed"})
    assert r.status_code == 400 and "pigeon" in r.json()["detail"] and r.json()["detail_zh"]
    r = s.post(f"/api/v1/tracking/items/{item}/records",
               json={"method": "phone", "outcome": "contacted", "next_date": "2001-01-01"})
    assert r.status_code == 400 and r.json()["detail_zh"]
    r = s.post(f"/api/v1/tracking/items/{item}/records", json={"method": "phone"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "outcome"]
    r = s.post(f"/api/v1/tracking/items/{item}/records",
               json={"method": "phone", "outcome": "contacted", "author": "admin"})
    assert r.status_code == 422  # no smuggled fields
    r = s.post(f"/api/v1/tracking/items/{item}/records", content=b"{not json",
               headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail_zh"]
    assert len(s.get(f"/api/v1/tracking/items/{item}").json()["records"]) == 1

    assert s.post(f"/api/v1/tracking/items/{item}/close", json={"reason": ""}).status_code == 422
    r = s.post(f"/api/v1/tracking/items/{item}/close", json={"reason": "已调岗"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["close_reason"] == "已调岗"
    r = s.post(f"/api/v1/tracking/items/{item}/close", json={"reason": "again"})
    assert r.status_code == 400 and r.json()["detail_zh"]
    r = s.post(f"/api/v1/tracking/items/{item}/records", json={"method": "phone", "outcome": "contacted"})
    assert r.status_code == 400


def test_resolved_record_closes_as_done(world: World) -> None:
    s = world.webs["s"]
    item = world.item("S")
    r = s.post(f"/api/v1/tracking/items/{item}/records", json={"method": "face_to_face", "outcome": "resolved"})
    assert r.status_code == 201 and r.json()["status"] == "done"
    done = s.get("/api/v1/tracking/items", params={"status": "done"}).json()["items"]
    assert item in {x["id"] for x in done}


def test_post_needs_the_csrf_token(world: World) -> None:
    s = world.webs["s"]
    item = world.item("R1")
    url = f"/api/v1/tracking/items/{item}/records"
    body = {"method": "phone", "outcome": "contacted"}
    assert s.client.post(url, json=body).status_code == 403
    assert s.post(url, json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert s.post(url, json=body, headers={"Origin": "http://evil.example"}).status_code == 403
    assert s.get(f"/api/v1/tracking/items/{item}").json()["records"] == []


def test_effectiveness(world: World) -> None:
    admin = world.webs["admin"]
    r = admin.get("/api/v1/tracking/effectiveness", params={"period": "2026-05", "by": "link"})
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == {"label": "2026-05", "start": "2026-05-01", "end": "2026-05-31"}
    assert body["by"] == "link" and body["total"]["items"] == len(world.items)
    assert body == world.cli("--as", "admin", "track", "effectiveness", "--period", "2026-05", "--by", "link",
                             "--format", "json")
    assert admin.get("/api/v1/tracking/effectiveness", params={"period": "2026-05", "by": "x"}).status_code == 422
    assert admin.get("/api/v1/tracking/effectiveness", params={"period": "soon"}).status_code == 400


# --- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_describes_every_route(world: World) -> None:
    spec = world.webs["anon"].get("/api/openapi.json").json()
    paths = spec["paths"]
    assert all(p.startswith("/api/v1/") for p in paths), sorted(paths)  # pages stay out
    want = {("get", "/api/v1/me"), ("get", "/api/v1/orgs"), ("get", "/api/v1/agents"),
            ("get", "/api/v1/agents/{code}"), ("get", "/api/v1/agents/{code}/activity"),
            ("get", "/api/v1/kpi"), ("get", "/api/v1/kpi.csv"), ("get", "/api/v1/kpi.xlsx"),
            ("get", "/api/v1/tracking/items"), ("get", "/api/v1/tracking/items/{item_id}"),
            ("post", "/api/v1/tracking/items/{item_id}/records"),
            ("post", "/api/v1/tracking/items/{item_id}/close"), ("get", "/api/v1/tracking/effectiveness")}
    assert {(m, p) for p, ops in paths.items() for m in ops} >= want
    for p, ops in paths.items():
        for m, op in ops.items():
            ok = op["responses"].get("200") or op["responses"].get("201")
            assert ok, (m, p)
            content = ok["content"]
            schema = next(iter(content.values()))["schema"]
            assert schema.get("$ref") or schema.get("type") == "string", (m, p, schema)
            for code in ("401", "403", "404", "422"):
                assert op["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/ErrorOut"), (m, p, code)
    rec = spec["components"]["schemas"]["RecordIn"]["properties"]
    assert rec["method"]["enum"] == ["phone", "wechat", "face_to_face", "accompany", "other"]


# --- schemathesis: the OpenAPI description against the running app ----------------------------

import schemathesis  # noqa: E402 (in the test extra: a missing install must fail, not skip)
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

from zhuizong.web import security  # noqa: E402


def test_openapi_conformance(world: World) -> None:
    """Every operation of the app's own OpenAPI description, driven in-process (ASGI) as the
    supervisor ``s`` with generated parameters and bodies: no 5xx, and every answer (status,
    content type, body) is what the description says. Bounded: a dozen examples per operation.

    (Hypothesis is driven directly per operation: schemathesis' pytest plugin does not support
    pytest 9 yet.)"""
    from hypothesis import given

    from zhuizong.web.app import create_app

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(world.ws))
    s = world.webs["s"]
    headers = {"Cookie": f"{security.COOKIE}={s.client.cookies.get(security.COOKIE)}", "X-CSRF-Token": s.csrf}
    checks = [st_checks.not_a_server_error, st_checks.status_code_conformance,
              st_checks.content_type_conformance, st_checks.response_schema_conformance]
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 13
    statuses: dict[str, set[int]] = {}

    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            r = case.call_and_validate(headers=headers, checks=checks)
            statuses.setdefault(case.operation.label, set()).add(r.status_code)

        run()
    assert 401 not in set().union(*statuses.values()), statuses  # really logged in
    assert sum(1 for v in statuses.values() if v & {200, 201}) >= 3, statuses
