"""Scoped reads of the organisation: org units, agents, an agent's history, their premiums.

Every query adds the actor's scope filter (:func:`zhuizong.access.scope.scope_for`); an object
outside the scope answers :class:`NotFound`, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Select, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.common.cache import per_request
from zhuizong.errors import NotFound
from zhuizong.store.models import table


@dataclass(frozen=True)
class OrgRow:
    org_code: str
    org_name: str
    parent_code: str | None
    level: str | None


@dataclass(frozen=True)
class AgentRow:
    agent_code: str
    agent_name: str
    org_code: str
    rank_code: str
    supervisor_code: str | None
    hire_date: dt.date
    leave_date: dt.date | None


#: a query of :class:`AgentRow`'s columns, in order (typed: a row unpacks into AgentRow)
AgentSelect = Select[str, str, str, str, str | None, dt.date, dt.date | None]


@dataclass(frozen=True)
class Contacts:
    """Optional contacts of an agent (agents import: 手机号, 企业微信号, 钉钉号)."""

    phone: str | None = None
    wecom_id: str | None = None
    dingtalk_id: str | None = None


@dataclass(frozen=True)
class AgentDetail:
    agent: AgentRow
    spells: list[tuple[dt.date, dt.date | None]]
    history: list[tuple[dt.date, dt.date | None, str, str, str | None]]
    contacts: Contacts = Contacts()


@dataclass(frozen=True)
class Names:
    """Display names of rank and org-unit codes (pages show names, not codes)."""

    ranks: dict[str, str]
    orgs: dict[str, str]

    def rank(self, code: str | None) -> str:
        return self.ranks.get(code, code) if code else "—"

    def org(self, code: str | None) -> str:
        return self.orgs.get(code, code) if code else "—"


def display_names(conn: Connection) -> Names:
    """Names of every rank and org unit (read once per web request). Names only label codes the
    page already shows within the user's scope, so they are not scoped themselves."""

    def load() -> Names:
        r, o = table("ranks"), table("org_units")
        return Names({str(k): str(v) for k, v in conn.execute(select(r.c.rank_code, r.c.rank_name))},
                     {str(k): str(v) for k, v in conn.execute(select(o.c.org_code, o.c.org_name))})

    return per_request(("display_names", str(conn.engine.url)), load)


def list_orgs(conn: Connection, actor: Actor) -> list[OrgRow]:
    """The org units ``actor`` may see, by code (read once per web request: a page asks for them
    for its picker, breadcrumbs and checks)."""
    actor.require("view_agents")

    def load() -> tuple[OrgRow, ...]:
        o = table("org_units")
        scope = scope_for(conn, actor)
        q: Select[str, str, str | None, str | None] = (  # typed: a row unpacks into OrgRow
            select(o.c.org_code, o.c.org_name, o.c.parent_code, o.c.level)
            .where(scope.org_filter(o.c.org_code))
            .order_by(o.c.org_code)
        )
        return tuple(OrgRow(*r) for r in conn.execute(q))

    return list(per_request(("list_orgs", str(conn.engine.url), actor.username), load))


def list_agents(
    conn: Connection,
    actor: Actor,
    *,
    org_code: str | None = None,
    in_force_on: dt.date | None = None,
    codes: list[str] | None = None,
) -> list[AgentRow]:
    """Agents the actor may see; optionally those currently placed in ``org_code``'s unit, or
    only those of ``codes`` (the visible ones among them)."""
    actor.require("view_agents")
    a = table("agents")
    scope = scope_for(conn, actor)
    q: AgentSelect = select(
        a.c.agent_code, a.c.agent_name, a.c.org_code, a.c.rank_code, a.c.supervisor_code,
        a.c.hire_date, a.c.leave_date,
    ).where(scope.agent_filter(a.c.agent_code))
    if org_code:
        q = q.where(a.c.org_code == org_code)
    if in_force_on:
        q = q.where(a.c.hire_date <= in_force_on,
                    (a.c.leave_date.is_(None)) | (a.c.leave_date > in_force_on))
    if codes is None:
        return [AgentRow(*r) for r in conn.execute(q.order_by(a.c.agent_code))]
    out: list[AgentRow] = []
    wanted = sorted(set(codes))
    for k in range(0, len(wanted), 900):  # bound the number of SQL parameters
        out += [AgentRow(*r) for r in conn.execute(
            q.where(a.c.agent_code.in_(wanted[k:k + 900])).order_by(a.c.agent_code))]
    return out


def get_agent(conn: Connection, actor: Actor, agent_code: str) -> AgentDetail:
    actor.require("view_agents")
    a, s, h = table("agents"), table("employment_spells"), table("agent_history")
    scope = scope_for(conn, actor)
    row = conn.execute(
        select(a.c.agent_code, a.c.agent_name, a.c.org_code, a.c.rank_code, a.c.supervisor_code,
               a.c.hire_date, a.c.leave_date, a.c.phone, a.c.wecom_id, a.c.dingtalk_id)
        .where(a.c.agent_code == agent_code, scope.agent_filter(a.c.agent_code))
    ).first()
    if row is None:
        raise NotFound(f"找不到工号 {agent_code}", f"agent {agent_code} not found")
    contacts = Contacts(*row[7:])
    spells = [(r.hire_date, r.leave_date) for r in conn.execute(
        select(s.c.hire_date, s.c.leave_date).where(s.c.agent_code == agent_code).order_by(s.c.spell_no))]
    hist = [tuple(r) for r in conn.execute(
        select(h.c.valid_from, h.c.valid_to, h.c.rank_code, h.c.org_code, h.c.supervisor_code)
        .where(h.c.agent_code == agent_code).order_by(h.c.valid_from))]
    return AgentDetail(AgentRow(*row[:7]), spells, hist, contacts)  # type: ignore[arg-type]


def list_premiums(
    conn: Connection,
    actor: Actor,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    agent_code: str | None = None,
) -> list[tuple[str, str, dt.date, str, int]]:
    """(txn_id, agent_code, txn_date, txn_type, amount_fen) of premiums written by visible agents."""
    actor.require("view_agents")
    p = table("premiums")
    scope = scope_for(conn, actor)
    q = select(p.c.txn_id, p.c.agent_code, p.c.txn_date, p.c.txn_type, p.c.amount_fen).where(
        scope.agent_filter(p.c.agent_code))
    if date_from:
        q = q.where(p.c.txn_date >= date_from)
    if date_to:
        q = q.where(p.c.txn_date <= date_to)
    if agent_code:
        q = q.where(p.c.agent_code == agent_code)
    return [tuple(r) for r in conn.execute(q.order_by(p.c.txn_id))]  # type: ignore[misc]
