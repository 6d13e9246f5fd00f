"""Who is responsible for a subject on a date, who owns an item, and who is the owner's superior.

Responsible people per role:

* ``supervisor``: the agent's direct supervisor on the date (agent code, from the dated history);
* ``trainer``, ``training``, ``assessment``, ``campaign``, ``executive``: active users holding the
  role whose scope (the one scope function) covers the subject; when several do, the one with the
  narrowest scope (fewest visible agents, then username) is responsible.

Owner codes are agent codes (supervisors) or usernames (staff). The item owner is the first role
in ``tracking.owner_precedence`` among the roles eligible for the item (the owner roles of its
reasons, plus the direct supervisor for an agent) that resolves to a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.store.models import table

STAFF_ROLES = ("trainer", "training", "assessment", "campaign", "executive")


@dataclass(frozen=True)
class StaffCover:
    username: str
    display_name: str
    role: str
    agents: frozenset[str]
    orgs: frozenset[str]

    @property
    def size(self) -> int:
        return len(self.agents) + len(self.orgs)


@dataclass
class Responsibility:
    supervisor_of: dict[str, str]  # agent -> supervisor agent code on the date
    staff: dict[str, list[StaffCover]]  # role -> covers, narrowest first
    agent_names: dict[str, str]
    user_agent: dict[str, str]  # username -> agent code (users who are agents)

    @classmethod
    def load(cls, conn: Connection, on: dt.date, supervisor_of: dict[str, str]) -> Responsibility:
        users, roles = table("users"), table("user_roles")
        rows = conn.execute(
            select(users.c.username, users.c.display_name, users.c.agent_code, roles.c.role)
            .join(roles, roles.c.username == users.c.username)
            .where(users.c.is_active.is_(True), roles.c.role.in_(STAFF_ROLES))
            .order_by(users.c.username)
        ).all()
        all_roles: dict[str, set[str]] = {}
        for r in rows:
            all_roles.setdefault(r.username, set()).add(r.role)
        staff: dict[str, list[StaffCover]] = {}
        cache: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for r in rows:
            if r.username not in cache:
                scope = scope_for(conn, Actor(r.username, frozenset(all_roles[r.username])), on)
                agents: frozenset[str] = (frozenset(conn.execute(scope.agents).scalars())
                                          if scope.agents is not None else frozenset())
                orgs: frozenset[str] = (frozenset(conn.execute(scope.orgs).scalars())
                                        if scope.orgs is not None else frozenset())
                cache[r.username] = (agents, orgs)
            agents, orgs = cache[r.username]
            staff.setdefault(r.role, []).append(StaffCover(r.username, r.display_name, r.role, agents, orgs))
        for covers in staff.values():
            covers.sort(key=lambda c: (c.size, c.username))
        a = table("agents")
        names: dict[str, str] = dict(conn.execute(select(a.c.agent_code, a.c.agent_name)).all())
        user_agent: dict[str, str] = dict(conn.execute(
            select(users.c.username, users.c.agent_code).where(users.c.agent_code.is_not(None))
        ).all())
        return cls(supervisor_of, staff, names, user_agent)

    def person(self, role: str, subject_type: str, code: str) -> str | None:
        """The person of ``role`` responsible for the subject, or None."""
        if role == "supervisor":
            if subject_type != "agent":
                return None
            sup = self.supervisor_of.get(code)
            return sup if sup and sup != code else None
        for c in self.staff.get(role, []):
            if (code in c.agents) if subject_type == "agent" else (code in c.orgs):
                return c.username
        return None

    def owner(self, subject_type: str, code: str, eligible: set[str],
              precedence: list[str]) -> tuple[str, str | None]:
        """(role, owner code) by precedence; (first eligible role, None) when nobody resolves."""
        if subject_type == "agent":
            eligible = eligible | {"supervisor"}
        ordered = [r for r in precedence if r in eligible] + sorted(eligible - set(precedence))
        for role in ordered:
            who = self.person(role, subject_type, code)
            if who is not None:
                return role, who
        return (ordered[0] if ordered else "supervisor"), None

    def superior(self, holder: str | None, subject_type: str, code: str) -> str | None:
        """One level up from ``holder`` for this subject: the holder's own supervisor when the
        holder is an agent with one, else the executive with the next wider scope over the subject."""
        if holder is None:
            return self.person("executive", subject_type, code)
        if holder in self.supervisor_of or holder in self.agent_names:
            sup = self.supervisor_of.get(holder)
            if sup and sup != holder:
                return sup
            return self._executive_above(subject_type, code, 0, exclude=holder)
        size = next((c.size for covers in self.staff.values() for c in covers if c.username == holder), 0)
        return self._executive_above(subject_type, code, size, exclude=holder)

    def _executive_above(self, subject_type: str, code: str, size: int, exclude: str) -> str | None:
        for c in self.staff.get("executive", []):
            covered = (code in c.agents) if subject_type == "agent" else (code in c.orgs)
            if covered and c.username != exclude and c.size > size and \
                    self.user_agent.get(c.username) != exclude:
                return c.username
        return None

    def display(self, code: str | None) -> str:
        if code is None:
            return "未分配"
        if code in self.agent_names:
            return f"{self.agent_names[code]} ({code})"
        for covers in self.staff.values():
            for c in covers:
                if c.username == code:
                    return f"{c.display_name} ({code})"
        return code
