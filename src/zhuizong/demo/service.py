"""Build the demo agency into a workspace, through the same import pipeline users run.

``build_demo`` generates the frames (``generator.generate``), imports every kind in
``kinds.IMPORT_ORDER`` with ``importing.service.import_frame`` (so the demo proves the pipeline:
validation, references, history rebuild, batches, audit) and creates one demo user per role, plus
one staff user per tracking link and unit (before ``track_assignments``, which names them).
A rejected import stops the build with :class:`~zhuizong.errors.ImportFailed`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import text

from zhuizong.access import users as access_users  # the access layer owns users and scopes
from zhuizong.demo.generator import DemoData, generate
from zhuizong.demo.params import DemoParams
from zhuizong.errors import ImportFailed, ZhuizongError
from zhuizong.importing.kinds import IMPORT_ORDER
from zhuizong.importing.service import import_frame
from zhuizong.store.db import atomic
from zhuizong.workspace import Workspace

#: bump when the generator's output for the same parameters changes (part of the batch hash)
GENERATOR_VERSION = 3  # 2: goals, daily plans, staff assignments (issue 15); 3: conversion from day 45
#: password of the demo users (documented in docs/demo.md; a demo, never a production database)
DEMO_PASSWORD = "zhuizong-demo"

Progress = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    params: DemoParams
    counts: dict[str, int] = field(default_factory=dict)  # rows generated per kind
    statuses: dict[str, str] = field(default_factory=dict)  # import status per kind
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    seconds: float = 0.0
    db_bytes: int | None = None
    users: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "agents": self.params.agents,
            "years": self.params.years,
            "seed": self.params.seed,
            "start_date": self.params.start_date.isoformat(),
            "end_date": self.params.end_date.isoformat(),
            "counts": self.counts,
            "statuses": self.statuses,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "seconds": round(self.seconds, 3),
            "db_bytes": self.db_bytes,
            "users": [u["username"] for u in self.users],
        }


def demo_users(data: DemoData) -> list[dict[str, Any]]:
    """One demo user per role, with the scope that role would be granted in a real deployment.

    Each item: username, display_name, roles, agent_code (or None) and scopes, a list of
    ``(scope_type, org_code, agent_code)``.
    """
    orgs = data["org_units"]
    agents = data["agents"]
    roots = orgs.loc[orgs["parent_code"].isna(), "org_code"].tolist()
    root = roots[0]
    sub = orgs.loc[orgs["level"] == "sub_branch", "org_code"]
    sub_code = sub.iloc[0] if len(sub) else root
    group = orgs.loc[orgs["level"] == "group", "org_code"].iloc[0]
    group_head = data.heads[group]
    root_head = data.heads[root]
    # an ordinary agent of that group, in force at the end, of formal rank if possible
    end = np.datetime64(data.end, "ns")
    in_force = agents["leave_date"].isna() | (agents["leave_date"] > end)
    members = agents[
        (agents["org_code"] == group) & in_force & (agents["agent_code"] != group_head)
    ]
    formal = members[members["rank_code"].isin(["A1", "A2", "A3"])]
    pick = formal if len(formal) else members
    agent_code = pick["agent_code"].iloc[0] if len(pick) else group_head
    name = dict(zip(agents["agent_code"], agents["agent_name"], strict=True))
    all_orgs = [("org_subtree", r, None) for r in roots]
    base: list[dict[str, Any]] = [
        {
            "username": "admin",
            "display_name": "系统管理员",
            "roles": ["admin"],
            "agent_code": None,
            "scopes": all_orgs,
        },
        {
            "username": "executive",
            "display_name": f"{name[root_head]}(总监)",
            "roles": ["executive"],
            "agent_code": root_head,
            "scopes": [("org_subtree", root, None)],
        },
        {
            "username": "assessment",
            "display_name": "考核专员",
            "roles": ["assessment"],
            "agent_code": None,
            "scopes": all_orgs,
        },
        {
            "username": "campaign",
            "display_name": "方案专员",
            "roles": ["campaign"],
            "agent_code": None,
            "scopes": all_orgs,
        },
        {
            "username": "training",
            "display_name": "培训专员",
            "roles": ["training"],
            "agent_code": None,
            "scopes": all_orgs,
        },
        {
            "username": "trainer",
            "display_name": "组训专员",
            "roles": ["trainer"],
            "agent_code": None,
            "scopes": [("org_subtree", sub_code, None)],
        },
        {
            "username": "supervisor",
            "display_name": f"{name[group_head]}(主任)",
            "roles": ["supervisor", "agent"],
            "agent_code": group_head,
            "scopes": [("reporting_line", None, group_head)],
        },
        {
            "username": "agent",
            "display_name": name[agent_code],
            "roles": ["agent"],
            "agent_code": agent_code,
            "scopes": [("self", None, agent_code)],
        },
    ]
    # the staff of the other branches and sub-branches (the generator's ``staff``; the first
    # unit's staff are the users above)
    known = {u["username"] for u in base}
    zh = {"executive": "总监", "assessment": "考核专员", "campaign": "方案专员", "training": "培训专员",
          "trainer": "组训专员"}
    for st in data.staff:
        if st["username"] in known:
            continue
        code = st["agent_code"]
        base.append({
            "username": st["username"],
            "display_name": (f"{name[str(code)]}({zh['executive']})" if code
                             else f"{zh[str(st['role'])]}({st['org_name']})"),
            "roles": [st["role"]],
            "agent_code": code,
            "scopes": [("org_subtree", st["org_code"], None)],
        })
    return base


def _create_users(ws: Workspace, users: list[dict[str, Any]], password: str | None) -> None:
    # one hash for all: Argon2 takes ~0.1-0.2 s a hash on purpose, and the demo has a user per
    # link and unit (a salt shared by demo users of one documented password reveals nothing)
    hashed = access_users.hash_password(password) if password else None
    with atomic(ws.engine) as conn:
        for u in users:
            try:
                access_users.get_user(conn, u["username"])
                continue  # created by an earlier build: leave it as the admin may have changed it
            except ZhuizongError:
                pass
            access_users.create_user(
                conn,
                u["username"],
                u["display_name"],
                roles=u["roles"],
                agent_code=u["agent_code"],
                password_hash=hashed,
                actor="demo",
            )
            for scope_type, org_code, agent_code in u["scopes"]:
                access_users.grant_scope(
                    conn,
                    u["username"],
                    scope_type,
                    org_code=org_code,
                    agent_code=agent_code,
                    actor="demo",
                )


def database_bytes(ws: Workspace) -> int | None:
    """Size of the workspace's database: the SQLite file (+ WAL), or pg_database_size."""
    if ws.engine.dialect.name == "sqlite":
        path = ws.engine.url.database
        if not path:
            return None
        return sum(os.stat(f).st_size for f in (path, path + "-wal") if os.path.exists(f))
    if ws.engine.dialect.name == "postgresql":
        with ws.engine.connect() as conn:
            size: int = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        return int(size)
    return None


def batch_sha256(params: DemoParams, kind: str) -> str:
    """The batch hash of one kind: the generator is deterministic, so parameters identify it."""
    key = f"zhuizong-demo/{GENERATOR_VERSION}/{np.__version__}/{kind}/{params.model_dump_json()}"
    return hashlib.sha256(key.encode()).hexdigest()


def _users_phase(ws: Workspace, summary: DemoSummary, password: str | None, report: Progress) -> None:
    report("users", 0, len(summary.users))
    t = time.perf_counter()
    _create_users(ws, summary.users, password)
    summary.timings["users"] = time.perf_counter() - t
    report("users", len(summary.users), len(summary.users))


def build_demo(
    ws: Workspace,
    params: DemoParams,
    progress: Progress | None = None,
    *,
    password: str | None = DEMO_PASSWORD,
    users: bool = True,
) -> DemoSummary:
    """Generate the demo agency and store it in ``ws`` via the import pipeline.

    Re-running with the same parameters is harmless: every batch is recognised as already
    imported and existing demo users are left alone.
    """
    report = progress or (lambda phase, done, total: None)
    t_all = time.perf_counter()
    summary = DemoSummary(params=params)
    report("generate", 0, 1)
    t = time.perf_counter()
    data = generate(params)
    summary.timings["generate"] = time.perf_counter() - t
    summary.counts = data.counts()
    report("generate", 1, 1)
    summary.users = demo_users(data)
    for kind in IMPORT_ORDER:
        frame = data[kind]
        if len(frame) == 0:  # e.g. attendance with activity_months=0: nothing to import
            summary.statuses[kind] = "empty"
            continue
        if kind == "track_assignments":  # names users: they are created (not imported) first
            if not users:
                summary.statuses[kind] = "skipped"
                continue
            _users_phase(ws, summary, password, report)
        phase = f"import:{kind}"
        report(phase, 0, len(frame))
        t = time.perf_counter()
        result = import_frame(
            ws,
            kind,
            frame,
            source_name=f"demo-{kind}.generated",
            sha256=batch_sha256(params, kind),
            actor="demo",
            progress=partial(report, phase),
        )
        summary.timings[phase] = time.perf_counter() - t
        summary.statuses[kind] = result.status
        if result.status == "rejected":
            first = "; ".join(
                f"row {e.row} {e.column}={e.value!r}: {e.reason_en}" for e in result.errors[:5]
            )
            raise ImportFailed(
                f"演示数据导入被拒绝 ({kind}, {len(result.errors)} 个错误): {first}",
                f"demo import rejected ({kind}, {len(result.errors)} errors): {first}",
                result,
            )
        report(phase, len(frame), len(frame))
    if users and "users" not in summary.timings:
        _users_phase(ws, summary, password, report)
    summary.db_bytes = database_bytes(ws)
    summary.seconds = time.perf_counter() - t_all
    return summary
