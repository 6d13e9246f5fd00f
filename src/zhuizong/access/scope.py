"""The one scope function: what an actor may see, as SQL fragments.

Like datasette's permission SQL, a scope is answered by queries, not loops: :func:`scope_for`
returns a :class:`Scope` whose ``agents`` and ``orgs`` are SELECTs of visible codes (recursive CTEs
over the org tree and the supervisor line), and whose ``agent_filter(col)`` / ``org_filter(col)``
give WHERE clauses to add to any service query. Grants:

* ``org_subtree(org)``: the org unit, every unit below it, and every agent whose org unit (on the
  scope date, else currently) is one of them;
* ``reporting_line(agent)``: that agent and everyone below them along ``supervisor_code``
  (on the scope date, else currently); no org units;
* ``self(agent)``: that agent only.

Fail closed: an actor with no grant, an inactive user or an unknown user sees nothing. The system
actor (local CLI operator without ``--as``) sees everything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    false,
    literal_column,
    or_,
    select,
    true,
    union,
)

from zhuizong.access.actor import Actor
from zhuizong.common.cache import per_request
from zhuizong.store.models import table


@dataclass(frozen=True)
class Scope:
    actor: Actor
    agents: Select | None  # None = unrestricted (system)
    orgs: Select | None
    #: the parts of ``agents`` for :meth:`agent_filter`: the org units of org grants (their
    #: agents are tested one by one), the agents of the other grants, the placement day
    org_part: Select | None = None
    other_part: Select | None = None
    on: dt.date | None = None
    #: the org grants cover every unit (their roots include every top unit): an agent is then
    #: visible when placed at all — every placement names an existing unit (NOT NULL, foreign
    #: key) — and a unit when it exists; tested without walking the tree
    whole_tree: bool = False

    def agent_filter(self, col: ColumnElement) -> ColumnElement[bool]:
        """``col`` (an agent code) is visible. The agents of org grants are tested per row (is
        the agent placed in one of the units?) rather than listed: a branch holds 100,000
        agents, and listing them for every lookup of one agent cost a tenth of a second."""
        if self.agents is None:
            return true()
        if self.org_part is None:
            return col.in_(self.agents)
        src, code, org, _sup = _placement(self.on, alias="scope_placed")
        placed = exists(select(literal_column("1")).select_from(src)  # type: ignore[arg-type]
                        .where(code == col) if self.whole_tree else
                        select(literal_column("1")).select_from(src)  # type: ignore[arg-type]
                        .where(code == col, org.in_(self.org_part)))
        if self.other_part is None:
            return placed
        return or_(placed, col.in_(self.other_part))

    def org_filter(self, col: ColumnElement) -> ColumnElement[bool]:
        if self.orgs is None:
            return true()
        return col.in_(self.orgs)


_NOTHING: Select = select(literal_column("NULL").label("code")).where(false())


def _org_subtree(roots: list[str]) -> Select:
    org = table("org_units")
    tree = select(org.c.org_code.label("code")).where(org.c.org_code.in_(roots)).cte(
        "org_tree", recursive=True
    )
    child = org.alias("child")
    tree = tree.union(select(child.c.org_code).where(child.c.parent_code == tree.c.code))
    return select(tree.c.code)


def _placement(on: dt.date | None, alias: str | None = None
               ) -> tuple[object, ColumnElement, ColumnElement, ColumnElement]:
    """(from-clause, agent_code, org_code, supervisor_code) valid on ``on`` (or current);
    ``alias``: a from-clause of its own name (not correlated with the query's own ``agents``)."""
    if on is None:
        a = table("agents")
        if alias is not None:
            a = a.alias(alias)  # type: ignore[assignment]
        return a, a.c.agent_code, a.c.org_code, a.c.supervisor_code
    h = table("agent_history").alias(f"{alias}_h" if alias else "h_on")
    valid = and_(h.c.valid_from <= on, or_(h.c.valid_to.is_(None), h.c.valid_to > on))
    sub = select(h.c.agent_code, h.c.org_code, h.c.supervisor_code).where(valid).subquery(
        alias or "placed")
    return sub, sub.c.agent_code, sub.c.org_code, sub.c.supervisor_code


def _reporting_line(heads: list[str], on: dt.date | None) -> Select:
    src, code, _org, sup = _placement(on)
    line = (
        select(code.label("code")).select_from(src).where(code.in_(heads))  # type: ignore[arg-type]
        .cte("reporting_line", recursive=True)
    )
    src2, code2, _org2, sup2 = _placement(on)
    line = line.union(
        select(code2).select_from(src2).where(sup2 == line.c.code)  # type: ignore[arg-type]
    )
    return select(line.c.code)


def _agents_in_orgs(orgs: Select, on: dt.date | None) -> Select:
    src, code, org, _sup = _placement(on)
    return select(code.label("code")).select_from(src).where(org.in_(orgs))  # type: ignore[arg-type]


def _grants(conn: Connection, actor: Actor) -> list[Any] | None:
    """The actor's scope grants (type, org code, agent code), or None for an inactive or
    unknown user: all that :func:`scope_for` builds a scope from."""
    users, grants = table("users"), table("user_scopes")
    active = conn.execute(
        select(users.c.is_active).where(users.c.username == actor.username)
    ).scalar_one_or_none()
    if not active:
        return None
    return list(conn.execute(
        select(grants.c.scope_type, grants.c.org_code, grants.c.agent_code).where(
            grants.c.username == actor.username
        )
    ).all())


def scope_key(conn: Connection, actor: Actor) -> tuple[Any, ...]:
    """A value equal for two actors exactly when :func:`scope_for` gives them the same scope
    (with the same data): a cache key for results computed within a scope."""
    if actor.is_system:
        return ("system",)
    rows = _grants(conn, actor)
    if rows is None:
        return ("nothing",)
    return ("grants", *sorted((r.scope_type, r.org_code or "", r.agent_code or "") for r in rows))


def request_scope_key(conn: Connection, actor: Any) -> tuple[Any, ...]:
    """:func:`scope_key` of ``actor``, read once per web request (a page keys several kept views
    by it: :func:`zhuizong.common.cache.per_request`)."""
    return per_request(("scope_key", str(conn.engine.url), actor.username),
                       lambda: scope_key(conn, actor))


def scope_for(conn: Connection, actor: Actor, on: dt.date | None = None) -> Scope:
    """Everything ``actor`` may see (placement of agents on ``on``, else current)."""
    if actor.is_system:
        return Scope(actor, None, None)
    rows = _grants(conn, actor)
    if rows is None:
        return Scope(actor, _NOTHING, _NOTHING)
    subtree_roots = [r.org_code for r in rows if r.scope_type == "org_subtree"]
    heads = [r.agent_code for r in rows if r.scope_type == "reporting_line"]
    selves = [r.agent_code for r in rows if r.scope_type == "self"]
    agent_parts: list[Select] = []
    orgs: Select = _NOTHING
    whole = False
    if subtree_roots:
        o = table("org_units")
        tops: set[str] = set(conn.execute(
            select(o.c.org_code).where(o.c.parent_code.is_(None))).scalars())
        whole = bool(tops) and tops <= set(subtree_roots)
        orgs = select(o.c.org_code.label("code")) if whole else _org_subtree(subtree_roots)
        # the same CTE object for both: a statement filtering on agents *and* org units (tracking
        # items of either kind) may hold only one CTE named "org_tree"
        agent_parts.append(_agents_in_orgs(orgs, on))
    if heads:
        agent_parts.append(_reporting_line(heads, on))
    if selves:
        a = table("agents")
        agent_parts.append(select(a.c.agent_code.label("code")).where(a.c.agent_code.in_(selves)))
    if not agent_parts:
        return Scope(actor, _NOTHING, orgs)
    agents_sel = agent_parts[0] if len(agent_parts) == 1 else select(
        union(*agent_parts).subquery("visible").c.code
    )
    others = agent_parts[1:] if subtree_roots else agent_parts
    other_sel = None if not others else others[0] if len(others) == 1 else select(
        union(*others).subquery("visible_other").c.code)
    return Scope(actor, agents_sel, orgs, org_part=orgs if subtree_roots else None,
                 other_part=other_sel, on=on, whole_tree=whole)
