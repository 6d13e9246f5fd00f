"""The registry of import kinds (data-contract.md, "Import files").

Each kind declares its columns once: code, Chinese label, type, whether required or part of the
key, allowed values (with Chinese synonyms), references to other tables, and the database column
it lands in. Readers, validators, the error report, the docs' import guide and the demo generator
all work from this registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zhuizong.kpi.registry import METRICS
from zhuizong.store import models as m

ColumnType = Literal[
    "code",  # identifier kept as text: zero padding kept, full-width folded, spaces stripped
    "text",  # free text, trimmed
    "date",  # YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD, Excel dates in XLSX)
    "int",  # whole number
    "money",  # 元 with at most two decimals, stored as integer 分 (fen)
    "decimal",  # non-negative decimal (rates, factors, plan targets)
    "enum",  # one of ``choices`` (codes or their Chinese labels)
    "bool",  # 1/0, true/false, 是/否, Y/N
    "period",  # 2026-05, 2026Q2, 2026
]


@dataclass(frozen=True)
class Column:
    code: str
    zh: str
    type: ColumnType
    required: bool = False
    key: bool = False
    #: allowed codes, and Chinese (or other) labels accepted for them
    choices: tuple[str, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    #: (table, column) this value must exist in: the same file or the database
    ref: tuple[str, str] | None = None
    #: database column, when it differs from ``code`` (money lands in ``*_fen``)
    db_column: str | None = None
    positive: bool = False  # > 0
    non_negative: bool = False  # >= 0
    #: free text that may span lines (TAB, LF, CR allowed); other text refuses every control
    #: character (normalize.text_problems)
    multiline: bool = False

    @property
    def target(self) -> str:
        return self.db_column or self.code

    @property
    def is_required(self) -> bool:
        return self.required or self.key


@dataclass(frozen=True)
class ImportKind:
    name: str
    zh: str
    table: str
    columns: tuple[Column, ...]
    #: the column whose min/max date the batch records (for incremental analytics)
    date_column: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.columns if c.key)

    def column(self, code: str) -> Column:
        for c in self.columns:
            if c.code == code:
                return c
        raise KeyError(code)

    def header_aliases(self) -> dict[str, str]:
        """Accepted header → column code (codes and Chinese labels, case-insensitive codes)."""
        out: dict[str, str] = {}
        for c in self.columns:
            out[c.code] = c.code
            out[c.code.lower()] = c.code
            out[c.zh] = c.code
        return out


CATEGORY_ZH = {"试用": "probationary", "正式": "formal", "主任以上": "director"}
EVENT_ZH = {
    "入司": "hire",
    "转正": "convert",
    "晋升": "promote",
    "降级": "demote",
    "调动": "transfer",
    "离司": "leave",
    "二次入司": "rehire",
}
PAY_MODE_ZH = {"趸交": "single", "期交": "regular"}
TXN_ZH = {
    "新契约": "new",
    "首年续期": "fy_renewal",
    "犹豫期撤单": "free_look_cancel",
    "契撤": "free_look_cancel",
    "退保": "surrender",
    "全额退保": "surrender",
    "续期": "renewal",
}
MEETING_ZH = {"早会": "morning", "夕会": "evening"}
STATUS_ZH = {"出席": "present", "迟到": "late", "请假": "leave", "缺席": "absent"}
COURSE_ZH = {
    "新人岗前": "new_hire",
    "新人衔接": "new_hire",
    "岗前": "new_hire",
    "衔接": "new_hire",
    "绩优": "top_performer",
    "准主任": "quasi_director",
    "其他": "other",
}

ORG = ("org_units", "org_code")
RANK = ("ranks", "rank_code")
AGENT = ("agents", "agent_code")
PRODUCT = ("products", "product_code")
SESSION = ("training_sessions", "session_code")

KINDS: dict[str, ImportKind] = {}


def _register(kind: ImportKind) -> None:
    if kind.name in KINDS:
        raise ValueError(f"duplicate import kind {kind.name}")
    codes = [c.code for c in kind.columns]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate column in import kind {kind.name}")
    KINDS[kind.name] = kind


_register(
    ImportKind(
        "org_units",
        "机构",
        "org_units",
        (
            Column("org_code", "机构代码", "code", key=True),
            Column("org_name", "机构名称", "text", required=True),
            Column("parent_code", "上级机构代码", "code", ref=ORG),
            Column("level", "层级", "text"),
        ),
    )
)
_register(
    ImportKind(
        "ranks",
        "职级",
        "ranks",
        (
            Column("rank_code", "职级代码", "code", key=True),
            Column("rank_name", "职级名称", "text", required=True),
            Column(
                "category",
                "类别",
                "enum",
                required=True,
                choices=m.RANK_CATEGORIES,
                synonyms=CATEGORY_ZH,
            ),
            Column("level", "序号", "int", required=True, non_negative=True),
        ),
    )
)
_register(
    ImportKind(
        "agents",
        "人员",
        "agents",
        (
            Column("agent_code", "工号", "code", key=True),
            Column("agent_name", "姓名", "text", required=True),
            Column("hire_date", "入司日期", "date", required=True),
            Column("org_code", "机构代码", "code", required=True, ref=ORG),
            Column("rank_code", "职级代码", "code", required=True, ref=RANK),
            Column("supervisor_code", "主管工号", "code", ref=AGENT),
            Column("recruiter_code", "推荐人工号", "code", ref=AGENT),
            Column("leave_date", "离司日期", "date"),
            Column("phone", "手机号", "text"),
            Column("wecom_id", "企业微信号", "text"),
            Column("dingtalk_id", "钉钉号", "text"),
        ),
        date_column="hire_date",
    )
)
_register(
    ImportKind(
        "agent_events",
        "人员异动",
        "agent_events",
        (
            Column("agent_code", "工号", "code", key=True, ref=AGENT),
            Column("event_date", "异动日期", "date", key=True),
            Column(
                "event_type", "异动类型", "enum", key=True, choices=m.EVENT_TYPES, synonyms=EVENT_ZH
            ),
            Column("rank_code", "职级代码", "code", ref=RANK),
            Column("org_code", "机构代码", "code", ref=ORG),
            Column("supervisor_code", "主管工号", "code", ref=AGENT),
        ),
        date_column="event_date",
    )
)
_register(
    ImportKind(
        "products",
        "产品",
        "products",
        (
            Column("product_code", "产品代码", "code", key=True),
            Column("product_name", "产品名称", "text", required=True),
            Column("is_main", "主险", "bool", required=True),
            Column(
                "pay_mode", "缴费方式", "enum", required=True, choices=m.PAY_MODES, synonyms=PAY_MODE_ZH
            ),
            Column("term_years", "缴费年期", "int", non_negative=True),
            Column("fyc_rate", "首年佣金率", "decimal", non_negative=True),
            Column("std_factor", "标保系数", "decimal", non_negative=True),
        ),
    )
)
_register(
    ImportKind(
        "premiums",
        "保费",
        "premiums",
        (
            Column("txn_id", "流水号", "code", key=True),
            Column("policy_no", "保单号", "code", required=True),
            Column("agent_code", "工号", "code", required=True, ref=AGENT),
            Column("product_code", "产品代码", "code", required=True, ref=PRODUCT),
            Column("txn_date", "交易日期", "date", required=True),
            Column(
                "txn_type", "类型", "enum", required=True, choices=m.TXN_TYPES, synonyms=TXN_ZH
            ),
            Column("amount", "金额", "money", required=True, positive=True, db_column="amount_fen"),
            Column("issue_date", "承保日期", "date"),
            Column("policy_year", "保单年度", "int", positive=True),
            # given as a positive amount like ``amount``; the sign comes from txn_type
            Column("fyc", "FYC", "money", db_column="fyc_fen", non_negative=True),
        ),
        date_column="txn_date",
    )
)
_register(
    ImportKind(
        "plans",
        "计划",
        "plans",
        (
            Column("org_code", "机构代码", "code", key=True, ref=ORG),
            Column("period", "期间", "period", key=True),
            # the registry's plannable metrics (zhuizong.kpi.registry)
            Column("metric", "指标", "enum", key=True,
                   choices=tuple(c for c, m in METRICS.items() if m.plannable)),
            Column("target", "目标值", "decimal", required=True, non_negative=True),
        ),
    )
)
_register(
    ImportKind(
        "attendance",
        "考勤",
        "attendance",
        (
            Column("agent_code", "工号", "code", key=True, ref=AGENT),
            Column("date", "日期", "date", key=True),
            Column(
                "meeting", "会议", "enum", key=True, choices=m.MEETINGS, synonyms=MEETING_ZH
            ),
            Column(
                "status",
                "状态",
                "enum",
                required=True,
                choices=m.ATTENDANCE_STATUSES,
                synonyms=STATUS_ZH,
            ),
        ),
        date_column="date",
    )
)
_register(
    ImportKind(
        "work_logs",
        "工作日志",
        "work_logs",
        (
            Column("agent_code", "工号", "code", key=True, ref=AGENT),
            Column("date", "日期", "date", key=True),
            Column("calls", "电话", "int", non_negative=True),
            Column("visits", "拜访", "int", non_negative=True),
            Column("interviews", "面谈", "int", non_negative=True),
            Column("proposals", "建议书", "int", non_negative=True),
            Column("closes", "成交", "int", non_negative=True),
            Column("referrals", "转介绍", "int", non_negative=True),
            Column("recruit_talks", "增员面谈", "int", non_negative=True),
            Column("note", "备注", "text", multiline=True),
            # issue 15: the daily work plan (日工作计划) for the next day
            Column("plan_calls", "计划电话", "int", non_negative=True),
            Column("plan_visits", "计划拜访", "int", non_negative=True),
            Column("plan_interviews", "计划面谈", "int", non_negative=True),
        ),
        date_column="date",
    )
)
# issue 15: agents' own monthly goals (定标) and staff assignments of tracking links
_register(
    ImportKind(
        "agent_goals",
        "个人目标",
        "agent_goals",
        (
            Column("agent_code", "工号", "code", key=True, ref=AGENT),
            Column("period", "期间", "period", key=True),
            Column("metric", "指标", "enum", key=True, choices=m.GOAL_METRICS,
                   synonyms={"保费": "fyp", "件数": "cases", "拜访": "visits", "面谈": "interviews",
                             "电话": "calls", "增员": "recruits"}),
            Column("target", "目标", "decimal", required=True, non_negative=True),
        ),
    )
)
_register(
    ImportKind(
        "track_assignments",
        "追踪分工",
        "track_assignments",
        (
            Column("role", "角色", "enum", key=True, choices=m.ASSIGNABLE_ROLES,
                   synonyms={"组训": "trainer", "培训": "training", "考核": "assessment",
                             "方案": "campaign", "营销干部": "executive"}),
            Column("org_code", "机构代码", "code", key=True, ref=ORG),
            Column("username", "用户名", "code", required=True, ref=("users", "username")),
        ),
    )
)

_register(
    ImportKind(
        "training_sessions",
        "培训班次",
        "training_sessions",
        (
            Column("session_code", "班次代码", "code", key=True),
            Column("title", "班次名称", "text", required=True),
            Column(
                "course_kind",
                "课程类别",
                "enum",
                required=True,
                choices=m.COURSE_KINDS,
                synonyms=COURSE_ZH,
            ),
            Column("session_date", "培训日期", "date", required=True),
            Column("org_code", "机构代码", "code", required=True, ref=ORG),
            Column("max_tenure_days", "应训新人司龄上限天数", "int", non_negative=True),
            Column("location", "地点", "text"),
        ),
        date_column="session_date",
    )
)
_register(
    ImportKind(
        "training_attendance",
        "培训签到",
        "training_attendance",
        (
            Column("session_code", "班次代码", "code", key=True, ref=SESSION),
            Column("agent_code", "工号", "code", key=True, ref=AGENT),
            # empty = on the roster (invited), not marked yet
            Column("status", "状态", "enum", choices=m.ATTENDANCE_STATUSES, synonyms=STATUS_ZH),
        ),
    )
)

#: Order in which kinds must be imported so references resolve (used by the demo and docs).
IMPORT_ORDER = (
    "org_units",
    "ranks",
    "products",
    "agents",
    "agent_events",
    "premiums",
    "plans",
    "attendance",
    "work_logs",
    "training_sessions",
    "training_attendance",
    "agent_goals",
    "track_assignments",
)
