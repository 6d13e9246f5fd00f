"""Who is responsible for a subject on a date, who owns an item, and who is the owner's superior.

Every rule belongs to a link; every link is worked by one role (:data:`LINK_ROLE`). Responsible
people per role, for an agent (or org unit) on a date:

* ``supervisor``: the agent's direct supervisor on the date (agent code, from the dated history);
* ``trainer`` (组训), ``training`` (培训), ``assessment`` (考核), ``campaign`` (方案),
  ``executive`` (营销干部): first an explicit assignment (``track_assignments``: role × org unit,
  the nearest one at or above the subject's unit on the date wins); else the active users holding
  the role whose scope (the one scope function, i.e. ``users grant USER --org CODE``) covers the
  subject; when several do, the one with the narrowest scope (fewest visible agents, then
  username) is responsible.

Owner codes are agent codes (supervisors, and executives who are agents) or usernames (staff).
Each reason is routed to the person of its rule's ``owner_role`` (copies: ``copy_roles``); the
item's lead (``owner_code``, one contact per agent and day) is the first role in
``tracking.owner_precedence`` among the roles eligible for the item (the owner roles of its
reasons, plus the direct supervisor for an agent) that resolves to a person.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.store.models import table

STAFF_ROLES = ("trainer", "training", "assessment", "campaign", "executive")
#: the role that works each link (seed slides 4-20: 方案, 主管, 营销干部, 培训, 组训, 考核晋升)
LINK_ROLE = {"campaign": "campaign", "supervisor": "supervisor", "executive": "executive",
             "training": "training", "coaching": "trainer", "assessment": "assessment"}


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
    org_of: dict[str, str] = field(default_factory=dict)  # agent -> org unit on the date
    parent_of: dict[str, str | None] = field(default_factory=dict)  # org unit -> parent
    assigned: dict[tuple[str, str], str] = field(default_factory=dict)  # (role, org) -> username
    _index: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection, on: dt.date, supervisor_of: dict[str, str],
             org_of: dict[str, str] | None = None) -> Responsibility:
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
        # the agents of a scope's org grants are those placed in its units on the date: with the
        # placements of the day at hand (``org_of``, the agents evaluated), they are gathered per
        # unit here instead of listed by the database once per staff user (805,000 rows at
        # 50,000 agents); the scope's other grants (lines, selves) are still listed by it
        by_org: dict[str, list[str]] = {}
        for agent, org in (org_of or {}).items():
            by_org.setdefault(org, []).append(agent)
        for r in rows:
            if r.username not in cache:
                scope = scope_for(conn, Actor(r.username, frozenset(all_roles[r.username])), on)
                orgs: frozenset[str] = (frozenset(conn.execute(scope.orgs).scalars())
                                        if scope.orgs is not None else frozenset())
                agents: frozenset[str]
                if scope.agents is None:
                    agents = frozenset()
                elif org_of and scope.org_part is not None:
                    placed = [a for o in orgs for a in by_org.get(o, ())]
                    other: list[str] = (list(conn.execute(scope.other_part).scalars())
                                        if scope.other_part is not None else [])
                    agents = frozenset(placed).union(other)
                else:
                    agents = frozenset(conn.execute(scope.agents).scalars())
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
        o, ta = table("org_units"), table("track_assignments")
        parent_of: dict[str, str | None] = dict(conn.execute(select(o.c.org_code, o.c.parent_code)).all())
        active_users = {r.username for r in rows}
        assigned: dict[tuple[str, str], str] = {}
        for a in conn.execute(select(ta.c.role, ta.c.org_code, ta.c.username)).all():
            if a.username in active_users and a.role in all_roles.get(a.username, set()):
                assigned[(a.role, a.org_code)] = a.username
        return cls(supervisor_of, staff, names, user_agent, dict(org_of or {}), parent_of, assigned)

    def _covered(self, role: str, subject_type: str) -> dict[str, str]:
        """subject code -> the narrowest covering user of ``role`` (built once per role)."""
        key = (role, subject_type)
        if key not in self._index:
            idx: dict[str, str] = {}
            for c in self.staff.get(role, []):
                for code in (c.agents if subject_type == "agent" else c.orgs):
                    idx.setdefault(code, c.username)
            self._index[key] = idx
        return self._index[key]

    def _assigned(self, role: str, org: str | None) -> str | None:
        seen = 0
        while org is not None and seen < 64:
            who = self.assigned.get((role, org))
            if who is not None:
                return who
            org = self.parent_of.get(org)
            seen += 1
        return None

    def code_of(self, username: str) -> str:
        """The owner code of a staff user: executives who are agents by their agent code."""
        return self.user_agent.get(username, username) if username in self._executives else username

    @functools.cached_property
    def _executives(self) -> frozenset[str]:
        return frozenset(c.username for c in self.staff.get("executive", []))

    def person(self, role: str, subject_type: str, code: str) -> str | None:
        """The person of ``role`` responsible for the subject, or None."""
        if role == "supervisor":
            if subject_type != "agent":
                return None
            sup = self.supervisor_of.get(code)
            return sup if sup and sup != code else None
        if self.assigned:
            org = self.org_of.get(code) if subject_type == "agent" else code
            who = self._assigned(role, org)
            if who is not None:
                return self._not_self(self.code_of(who), subject_type, code)
        who = self._covered(role, subject_type).get(code)
        return None if who is None else self._not_self(self.code_of(who), subject_type, code)

    @staticmethod
    def _not_self(person: str, subject_type: str, code: str) -> str | None:
        """Nobody tracks themselves: an executive who is the agent (the branch head) is not
        responsible for their own item (as the supervisor link already excludes)."""
        return None if subject_type == "agent" and person == code else person

    def route(self, role: str, copy_roles: tuple[str, ...], subject_type: str, code: str,
              lead: str | None) -> tuple[str | None, list[tuple[str, str]]]:
        """(owner code, [(copy role, copy code)]) of one reason: the owner of its link, else the
        lead when nobody holds that link for the subject; copies other than the owner and the lead."""
        owner = self.person(role, subject_type, code) or lead
        copies: list[tuple[str, str]] = []
        for r in copy_roles:
            who = self.person(r, subject_type, code)
            if who is not None and who not in (owner, lead) and all(who != c for _, c in copies):
                copies.append((r, who))
        return owner, copies

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
        if "executive" not in ordered:  # the top of a line (no supervisor): the unit's executive
            who = self.person("executive", subject_type, code)
            if who is not None:
                return "executive", who
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
                return self.code_of(c.username)
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
