"""The actor on whose behalf a service runs, and role permissions for actions.

Roles answer "may this actor do X at all" (import, manage users …); scopes answer "which agents
and org units may this actor see" (:mod:`zhuizong.access.scope`). The local operator of the CLI
without ``--as`` is the *system* actor: it owns the workspace files anyway, so it sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zhuizong.errors import PermissionDenied

#: action → roles allowed to perform it
PERMISSIONS: dict[str, frozenset[str]] = {
    "import": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "view_status": frozenset({"admin", "executive"}),
    "view_agents": frozenset(
        {"admin", "executive", "assessment", "campaign", "training", "trainer", "supervisor", "agent"}
    ),
    "run_tracking": frozenset({"admin"}),
    "view_tracking": frozenset(
        {"admin", "executive", "assessment", "campaign", "training", "trainer", "supervisor"}
    ),
    "record_tracking": frozenset(
        {"admin", "executive", "assessment", "campaign", "training", "trainer", "supervisor"}
    ),
    # basic law (基本法): results are seen within scope; running and applying are assessment work
    "view_assessment": frozenset(
        {"admin", "executive", "assessment", "training", "trainer", "supervisor"}
    ),
    "run_assessment": frozenset({"admin", "assessment"}),
    "apply_assessment": frozenset({"admin", "assessment"}),
    "recompute_assessment": frozenset({"admin"}),
    # campaigns (方案): standings and honor rolls are seen within scope (or campaign-wide when the
    # campaign's visibility says so); defining and closing are campaign staff's work
    "view_campaigns": frozenset(
        {"admin", "executive", "assessment", "campaign", "training", "trainer", "supervisor", "agent"}
    ),
    "manage_campaigns": frozenset({"admin", "campaign"}),
    # training (培训): sessions and their rosters are seen within scope; creating sessions and
    # marking attendance are training staff's work
    "view_training": frozenset({"admin", "executive", "training", "trainer", "supervisor"}),
    "manage_training": frozenset({"admin", "training"}),
}


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    agent_code: str | None = None
    is_system: bool = False

    def can(self, action: str) -> bool:
        return self.is_system or bool(self.roles & PERMISSIONS.get(action, frozenset()))

    def require(self, action: str) -> None:
        if not self.can(action):
            raise PermissionDenied(
                f"用户 {self.username} 无权执行 {action}",
                f"user {self.username} may not {action}",
            )


SYSTEM = Actor("system", is_system=True)
