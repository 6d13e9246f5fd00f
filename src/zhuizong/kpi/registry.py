"""The metric registry: one definition per metric (kpi-spec.md §5).

Each entry carries its stable code, Chinese and English labels, unit, formula text and IR node.
`zhuizong kpi --list` and the KPI definitions in the docs are generated from here; a duplicate code
is rejected at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
)

Unit = Literal["yuan", "persons", "cases", "rate", "yuan_per_person", "cases_per_person",
               "yuan_per_case"]


@dataclass(frozen=True)
class Metric:
    code: str
    zh: str
    en: str
    unit: Unit
    formula_zh: str
    formula_en: str
    node: Node

    @property
    def is_ratio(self) -> bool:
        return isinstance(self.node, Ratio)


METRICS: dict[str, Metric] = {}


def _m(code: str, zh: str, en: str, unit: Unit, fzh: str, fen: str, node: Node) -> None:
    if code in METRICS:
        raise ValueError(f"duplicate metric {code}")
    METRICS[code] = Metric(code, zh, en, unit, fzh, fen, node)


FYP, FYC, STD, CASES = (Production(m) for m in ("fyp", "fyc", "std_premium", "cases"))
OPEN, CLOSE, AVG = (People(m) for m in ("headcount_open", "headcount_close", "headcount_avg"))
ACTIVE = Active()
HIRES, LEAVERS, CONV = People("new_hires"), People("leavers"), People("conversions")

_m("fyp", "首年保费", "FYP", "yuan", "新契约 + 首年续期 − 当期契撤 − 当期全额退保",
   "new + first-year renewal − free-look cancellations − surrenders", FYP)
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
   "Σ first-year premium × first-year commission rate (signed as FYP)", FYC)
_m("std_premium", "标准保费", "standard premium", "yuan", "Σ 首年保费 × 标保系数",
   "Σ first-year premium × standard-premium factor", STD)
_m("cases", "新契约件数", "new cases", "cases", "新契约主险件数 − 当期犹豫期撤单主险件数",
   "new main policies − main policies cancelled in the free-look period", CASES)
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
   "spells ended in the period", LEAVERS)
_m("attrition_rate", "脱落率", "attrition rate", "rate",
   "脱落人数 / 期初人力; 多月: Σ脱落 / Σ各月平均人力",
   "leavers / opening; several months: Σ leavers / Σ monthly average headcounts",
   Ratio(LEAVERS, People("sum_monthly_avg")))
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
       Ratio(Persistency(n, "paid"), Persistency(n, "due")))  # type: ignore[arg-type]
    _m(f"persistency_{n}m_cases", f"{n}个月件数继续率", f"{n}-month persistency (cases)", "rate",
       f"前数第{n + 1}月承保的期交保单中按时交纳{year}保费的件数 / 件数",
       f"policies issued {n + 1} months earlier whose {year_en} premium was received in time / "
       f"policies issued {n + 1} months earlier",
       Ratio(Persistency(n, "paid_policies"), Persistency(n, "policies")))  # type: ignore[arg-type]
_m("attendance_rate", "出勤率", "attendance rate", "rate", "出席及迟到场次 / 在职人员应到场次",
   "attended (present or late) meetings / recorded meetings of agents in force",
   Ratio(Meetings("attended"), Meetings("scheduled")))
_m("tool_usage_rate", "工具使用率", "tool usage rate", "rate",
   "Σ工作日填写工作日志的在职人数 / Σ工作日在职人数",
   "Σ over working days of in-force agents with a work log / Σ of in-force agents",
   Ratio(ToolUse("filled"), ToolUse("in_force")))
