"""The metric registry: one definition per measure, read by every consumer (kpi-spec.md §5).

Each entry carries its stable code, Chinese and English labels, unit, formula text and what its
consumers need to know about it — declared here once, never again in a consumer:

* the **KPI engine** computes every :class:`Metric` (an entry with an IR node, :data:`METRICS`);
  ``zhuizong kpi --list`` and ``docs/kpi-definitions.md`` are generated from here;
* **plans** (import kind ``plans``) accept the codes of the ``plannable`` metrics;
* a **basic-law criterion** (``zhuizong.basiclaw.config``) may test the ``basic_law`` measures;
* a **campaign** (``zhuizong.campaigns.config``) may rank on the ``campaign`` measures.

A few measures those consumers need cannot be written in the IR (sums over a tree of agents,
recruits counted by their recruiter, months of a condition): they are declared here too, as a
:class:`ConsumerMeasure` naming the consumer that computes it and why the IR cannot
(:data:`MEASURES` holds both kinds; :data:`METRICS` the ones with IR). A duplicate code, or an
attribute that contradicts another (a campaign measure without a value per agent, …), is
rejected at import time. Every node is evaluated by :mod:`zhuizong.kpi.evaluate` (exact decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zhuizong.kpi.ir import (
    Active,
    Cohort,
    Difference,
    Meetings,
    Node,
    People,
    Persistency,
    Plan,
    Production,
    Ratio,
    ToolUse,
    leaves,
)

Unit = Literal["yuan", "persons", "cases", "rate", "yuan_per_person", "cases_per_person",
               "yuan_per_case", "groups", "months"]
#: the word after a number of each unit in Chinese texts (docs, campaign tiers)
UNIT_ZH: dict[str, str] = {"yuan": "元", "persons": "人", "cases": "件", "rate": "%",
                           "yuan_per_person": "元/人", "cases_per_person": "件/人",
                           "yuan_per_case": "元/件", "groups": "个", "months": "个月"}


@dataclass(frozen=True, kw_only=True)
class Measure:
    """What every consumer reads about one measure."""

    code: str
    zh: str
    en: str
    unit: Unit
    formula_zh: str
    formula_en: str
    #: a larger value is better: a basic-law threshold is a minimum, a campaign ranks descending
    #: (False for leavers and attrition)
    higher_is_better: bool = True
    #: has a meaningful value per agent (``zhuizong kpi --by agent``, a personal criterion, a
    #: campaign result); headcounts, cohorts and plans are org-unit measures
    per_agent: bool = False
    #: a sum over the days of its window: an open window projects it at the current pace
    #: (actual / elapsed days × window days); otherwise a state on a day, or a rate
    flow: bool = False
    #: plans (import kind ``plans``) may set a target for it
    plannable: bool = False
    #: a basic-law criterion may test it (``docs/basic-law.md``)
    basic_law: bool = False
    #: meant for basic-law criteria, but how it is judged there is not decided yet (rejected with
    #: that message)
    basic_law_pending: bool = False
    #: a campaign may rank on it, counted with the campaign's window rules (``docs/campaigns.md``)
    campaign: bool = False
    #: a sum over an agent's reporting line or recruiting tree (basic-law scope line/recruits)
    team: bool = False
    #: the noun after a count in texts when it differs from ``zh`` ("差 1 件新契约")
    noun_zh: str = ""


@dataclass(frozen=True, kw_only=True)
class Metric(Measure):
    """A KPI-engine metric: the IR node is compiled for any org unit, grain and segment."""

    node: Node

    @property
    def is_ratio(self) -> bool:
        return isinstance(self.node, Ratio)


@dataclass(frozen=True, kw_only=True)
class ConsumerMeasure(Measure):
    """A measure the IR cannot express, computed by ``computed_by`` (``why_not_ir`` says why)."""

    computed_by: Literal["basiclaw", "campaigns"]
    why_not_ir: str


#: every measure, KPI metrics first (in their order), then the consumer-computed ones
MEASURES: dict[str, Measure] = {}
#: the KPI metrics (the measures with an IR node), in the order of ``zhuizong kpi --list``
METRICS: dict[str, Metric] = {}

#: leaves with a value per agent (production, meetings, work logs, persistency cohorts)
_PER_AGENT_LEAVES = (Production, Meetings, ToolUse, Persistency)
_FLOW_PEOPLE = ("new_hires", "leavers", "conversions")


def _per_agent(node: Node) -> bool:
    return all(isinstance(leaf, _PER_AGENT_LEAVES) for leaf in leaves(node))


def _flow(node: Node) -> bool:
    """Sums over the days of the period: production of the period and people flows."""
    if isinstance(node, Production):
        return node.offset is None
    return isinstance(node, People) and node.measure in _FLOW_PEOPLE


def _has_plan(node: Node) -> bool:
    return any(isinstance(leaf, Plan) for leaf in leaves(node))


def _check(m: Measure) -> None:
    if m.code in MEASURES:
        raise ValueError(f"duplicate metric {m.code}")
    uses = [u for u in ("basic_law", "campaign") if getattr(m, u)]
    for use in uses:
        if not m.per_agent:
            raise ValueError(f"{m.code}: {use} needs a value per agent (per_agent)")
        if not m.higher_is_better:
            raise ValueError(f"{m.code}: {use} thresholds and rankings need higher_is_better")
    if m.team and not m.basic_law:
        raise ValueError(f"{m.code}: team measures are basic-law measures")
    if m.basic_law and m.basic_law_pending:
        raise ValueError(f"{m.code}: basic_law and basic_law_pending exclude each other")


def _m(code: str, zh: str, en: str, unit: Unit, fzh: str, fen: str, node: Node,
       **attrs: Any) -> None:
    """A KPI metric. ``per_agent``, ``flow`` and ``plannable`` follow from the node unless given:
    per agent when every leaf has a value per agent, a flow when it is a period sum, plannable
    unless it already involves a plan."""
    attrs.setdefault("per_agent", _per_agent(node))
    attrs.setdefault("flow", _flow(node))
    attrs.setdefault("plannable", not _has_plan(node))
    m = Metric(code=code, zh=zh, en=en, unit=unit, formula_zh=fzh, formula_en=fen, node=node,
               **attrs)
    _check(m)
    MEASURES[code] = METRICS[code] = m


def _consumer(code: str, zh: str, en: str, unit: Unit, fzh: str, fen: str, *,
              computed_by: Literal["basiclaw", "campaigns"], why_not_ir: str,
              **attrs: Any) -> None:
    """A measure without IR (see :class:`ConsumerMeasure`): per agent, not plannable."""
    m = ConsumerMeasure(code=code, zh=zh, en=en, unit=unit, formula_zh=fzh, formula_en=fen,
                        computed_by=computed_by, why_not_ir=why_not_ir, per_agent=True, **attrs)
    _check(m)
    MEASURES[code] = m


FYP, FYC, STD, CASES = (Production("fyp"), Production("fyc"), Production("std_premium"),
                        Production("cases"))
OPEN, CLOSE, AVG = People("headcount_open"), People("headcount_close"), People("headcount_avg")
ACTIVE = Active()
HIRES, LEAVERS, CONV = People("new_hires"), People("leavers"), People("conversions")

_m("fyp", "首年保费", "FYP", "yuan", "新契约 + 首年续期 − 当期契撤 − 当期全额退保",
   "new + first-year renewal − free-look cancellations − surrenders", FYP,
   basic_law=True, campaign=True)
_m("fyp_mom", "FYP 环比增长率", "FYP month-on-month growth", "rate",
   "(本期FYP − 上期FYP) / 上期FYP", "(FYP − FYP of the previous period) / FYP of the previous period",
   Ratio(Difference(FYP, Production("fyp", "previous")), Production("fyp", "previous")))
_m("fyp_yoy", "FYP 同比增长率", "FYP year-on-year growth", "rate",
   "(本期FYP − 上年同期FYP) / 上年同期FYP", "(FYP − FYP a year earlier) / FYP a year earlier",
   Ratio(Difference(FYP, Production("fyp", "last_year")), Production("fyp", "last_year")))
_m("fyp_plan_rate", "FYP 计划达成率", "FYP plan attainment", "rate", "FYP / FYP计划",
   "FYP / FYP plan of the period", Ratio(FYP, Plan("fyp")))
_m("fyp_year_progress", "FYP 年计划进度", "FYP annual plan progress", "rate",
   "年初至期末累计FYP / 年度FYP计划", "FYP year to date / annual FYP plan",
   Ratio(Production("fyp", "year_to_date"), Plan("fyp", year=True)))
_m("fyc", "FYC", "FYC", "yuan", "Σ 首年保费 × 首年佣金率 (同FYP符号)",
   "Σ first-year premium × first-year commission rate (signed as FYP)", FYC,
   basic_law=True, campaign=True)
_m("std_premium", "标准保费", "standard premium", "yuan", "Σ 首年保费 × 标保系数",
   "Σ first-year premium × standard-premium factor", STD, basic_law=True, campaign=True)
_m("cases", "新契约件数", "new cases", "cases", "新契约主险件数 − 当期犹豫期撤单主险件数",
   "new main policies − main policies cancelled in the free-look period", CASES,
   basic_law=True, campaign=True, noun_zh="新契约")
_m("headcount_open", "期初人力", "opening headcount", "persons", "期初(S−1日末)在职人数",
   "agents in force at the end of the day before the period", OPEN)
_m("headcount_close", "期末人力", "closing headcount", "persons", "期末在职人数",
   "agents in force at the end of the period", CLOSE)
_m("headcount_avg", "平均人力", "average headcount", "persons",
   "(期初 + 期末) / 2; 多月: 各月平均人力之和 / 月数",
   "(opening + closing) / 2; several months: mean of the monthly averages", AVG)
_m("active", "实动人力", "active agents", "persons", "期内有业绩的人数 (含期末前脱落)",
   "agents with production in the period (including those who left)", ACTIVE)
for cat, zh, en in (("probationary", "试用", "probationary"), ("formal", "正式", "formal"),
                    ("director", "主任以上", "director and above")):
    _m(f"active_{cat}", f"{zh}实动人力", f"active {en} agents", "persons",
       f"实动人力中期内最后在职日职级类别为{zh}者", f"active agents whose category is {en}",
       Active(cat))  # type: ignore[arg-type]
_m("activity_rate", "活动率", "activity rate", "rate", "实动人力 / 平均人力",
   "active / average headcount", Ratio(ACTIVE, AVG))
_m("fyp_per_capita", "人均FYP", "FYP per capita", "yuan_per_person", "FYP / 平均人力",
   "FYP / average headcount", Ratio(FYP, AVG))
_m("fyp_per_active", "人均产能", "FYP per active agent", "yuan_per_person", "FYP / 实动人力",
   "FYP / active", Ratio(FYP, ACTIVE))
_m("premium_per_case", "件均保费", "premium per case", "yuan_per_case", "FYP / 新契约件数",
   "FYP / cases", Ratio(FYP, CASES))
_m("cases_per_capita", "人均件数", "cases per capita", "cases_per_person", "件数 / 平均人力",
   "cases / average headcount", Ratio(CASES, AVG))
_m("cases_per_active", "有效人均件数", "cases per active agent", "cases_per_person",
   "件数 / 实动人力", "cases / active", Ratio(CASES, ACTIVE))
_m("fyc_per_capita", "人均FYC", "FYC per capita", "yuan_per_person", "FYC / 平均人力",
   "FYC / average headcount", Ratio(FYC, AVG))
_m("new_hires", "新进人数", "new hires", "persons", "期内入司人数 (含期末前脱落, 二次入司计入)",
   "spells started in the period (rehires included)", HIRES)
_m("recruitment_rate", "增员率", "recruitment rate", "rate",
   "新进人数 / 期初人力; 多月: Σ新进 / Σ各月月初人力",
   "new hires / opening; several months: Σ new hires / Σ monthly openings",
   Ratio(HIRES, People("sum_monthly_open")))
_m("conversions", "转正人数", "conversions", "persons", "期内由试用转为正式及以上的人数",
   "changes from a probationary to a formal or higher rank in the period", CONV)
_m("effective_recruitment_rate", "有效增员率", "effective recruitment rate", "rate",
   "转正人数 / 平均人力", "conversions / average headcount", Ratio(CONV, AVG))
_m("leavers", "脱落人数", "leavers", "persons", "期内离司人数 (晋升、降级、调动不计)",
   "spells ended in the period", LEAVERS, higher_is_better=False)
_m("attrition_rate", "脱落率", "attrition rate", "rate",
   "脱落人数 / 期初人力; 多月: Σ脱落 / Σ各月平均人力",
   "leavers / opening; several months: Σ leavers / Σ monthly average headcounts",
   Ratio(LEAVERS, People("sum_monthly_avg")), higher_is_better=False)
_m("net_growth_rate", "净增长率", "net growth rate", "rate", "(期末人力 − 期初人力) / 期初人力",
   "(closing − opening) / opening", Ratio(Difference(CLOSE, OPEN), OPEN))
for t in (3, 6, 12):
    _m(f"retention_{t}m", f"{t}个月留存率", f"{t}-month retention", "rate",
       f"前数第{t}月新进且当月末在职人数 / 前数第{t}月新进人数",
       f"hired {t} months earlier and in force at the month end / hired {t} months earlier",
       Ratio(Cohort(t, "retained"), Cohort(t, "size")))
for t in (3, 6):
    _m(f"conversion_{t}m", f"{t}个月转正率", f"{t}-month conversion", "rate",
       f"前数第{t}月新进且当月末在职的正式及以上人数 / 前数第{t}月新进人数",
       f"hired {t} months earlier, in force and formal or above at the month end / "
       f"hired {t} months earlier",
       Ratio(Cohort(t, "converted"), Cohort(t, "size")))
for n in (13, 25):
    year = "第二年" if n == 13 else "第三年"
    year_en = "second-year" if n == 13 else "third-year"
    _m(f"persistency_{n}m", f"{n}个月继续率", f"{n}-month persistency", "rate",
       f"前数第{n + 1}月承保的期交保单于第{n // 12}个保单周年日加宽限期内实收{year}保费 / 其首年保费",
       f"{year_en} premium received by the anniversary + grace of regular-pay policies issued "
       f"{n + 1} months earlier / their first-year premium",
       Ratio(Persistency(n, "paid"), Persistency(n, "due")),  # type: ignore[arg-type]
       basic_law=True)
    _m(f"persistency_{n}m_cases", f"{n}个月件数继续率", f"{n}-month persistency (cases)", "rate",
       f"前数第{n + 1}月承保的期交保单中按时交纳{year}保费的件数 / 件数",
       f"policies issued {n + 1} months earlier whose {year_en} premium was received in time / "
       f"policies issued {n + 1} months earlier",
       Ratio(Persistency(n, "paid_policies"), Persistency(n, "policies")))  # type: ignore[arg-type]
_m("attendance_rate", "出勤率", "attendance rate", "rate", "出席及迟到场次 / 在职人员应到场次",
   "attended (present or late) meetings / recorded meetings of agents in force",
   Ratio(Meetings("attended"), Meetings("scheduled")), basic_law=True)
_m("tool_usage_rate", "工具使用率", "tool usage rate", "rate",
   "Σ工作日填写工作日志的在职人数 / Σ工作日在职人数",
   "Σ over working days of in-force agents with a work log / Σ of in-force agents",
   Ratio(ToolUse("filled"), ToolUse("in_force")))

# --- measures without IR: computed by their consumer ---------------------------------------------

_TREE = ("a sum over a tree of agents as of the evaluation day (the reporting line by the dated "
         "supervisor_code, or the recruiting tree by recruiter_code); the IR aggregates over org "
         "units and single agents and has no tree of agents")
_TEAM_ZH = "汇报线 (scope line) 或育成线 (scope recruits) 成员"
_TEAM_EN = "members of the agent's reporting line (scope line) or recruiting tree (scope recruits)"
_consumer("team_fyc", "团队 FYC", "team FYC", "yuan",
          f"Σ {_TEAM_ZH}的 FYC (include_self 时含本人)",
          f"Σ FYC of the {_TEAM_EN} (and the agent with include_self)",
          computed_by="basiclaw", why_not_ir=_TREE, flow=True, basic_law=True, team=True)
_consumer("team_fyp", "团队首年保费", "team FYP", "yuan",
          f"Σ {_TEAM_ZH}的 FYP (include_self 时含本人)",
          f"Σ FYP of the {_TEAM_EN} (and the agent with include_self)",
          computed_by="basiclaw", why_not_ir=_TREE, flow=True, basic_law=True, team=True)
_consumer("team_headcount", "团队人力", "team headcount", "persons",
          f"考核日在职的{_TEAM_ZH}人数", f"{_TEAM_EN} in force on the evaluation day",
          computed_by="basiclaw", why_not_ir=_TREE, basic_law=True, team=True)
_consumer("effective_headcount", "有效人力", "effective headcount", "persons",
          f"窗口内 FYC ≥ member_min_fyc 的{_TEAM_ZH}人数",
          f"{_TEAM_EN} whose FYC in the window ≥ member_min_fyc",
          computed_by="basiclaw", why_not_ir=_TREE + "; the bar a member must reach is the rule's",
          flow=True, basic_law=True, team=True)
_consumer("groups_bred", "育成组数", "groups bred", "groups",
          "育成线 (depth 层内) 考核日职级为主任及以上的人数",
          "members of the recruiting tree (within depth) whose rank on the evaluation day is a "
          "director rank", computed_by="basiclaw", why_not_ir=_TREE, basic_law=True, team=True,
          noun_zh="育成组")
_RECRUITER = ("counts hires by their recruiter (agents.recruiter_code), not where the recruit is "
              "placed: the IR's people measures count agents at their own placement")
_consumer("direct_recruits", "直接增员", "direct recruits", "persons",
          "考核窗口内 (至考核日) 入司且推荐人为本人的人数",
          "spells hired in the window (to the evaluation day) whose recruiter_code is the agent",
          computed_by="basiclaw", why_not_ir=_RECRUITER, flow=True, basic_law=True)
_consumer("new_recruits", "新增人力", "new recruits", "persons",
          "方案期内 (至 min(as_of, end)) 入司且推荐人为本人的人数 (与 direct_recruits 同一计数, "
          "方案沿用此代码)",
          "agents hired in [start, min(as_of, end)] whose recruiter_code is the agent (the count "
          "of direct_recruits under the code stored campaigns use)",
          computed_by="campaigns", why_not_ir=_RECRUITER, flow=True, campaign=True)
_consumer("active_months", "实动月数", "active months", "months",
          "方案期内净 FYP > 0 的月份数 (按保单承保月计)",
          "basis months of the campaign in which the agent's net FYP, counted in the month its "
          "policy was written, is > 0",
          computed_by="campaigns",
          why_not_ir="a count of months of a monthly condition per agent; the IR combines "
          "aggregates of the whole period and has no per-month-then-count node",
          flow=True, campaign=True)
