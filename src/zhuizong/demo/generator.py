"""Vectorised generation of a realistic demo agency (演示机构), one DataFrame per import kind.

``generate(params)`` is pure and deterministic for a seed: the same parameters always give the
same frames. Work is vectorised with numpy over *employment spells* (任职期); the only Python
loops run over months (production, recruiter choice) or over org units, never over agents or
transactions, so 50,000 agents × 3 years takes seconds.

Model (docs/demo.md explains every step and parameter):

1. An org tree 分公司 → 支公司 → 营业部 → 营业组. Every org unit has a head (主管) who is a
   director-category agent, in force throughout the history; a member's supervisor is the head of
   the member's unit, a head's supervisor the head of the parent unit.
2. Spells. Hires arrive month by month (seasonal, 开门红 peak) at a rate chosen so that the force at
   the end date is ``params.agents``; an initial force at the start date is drawn from the same
   process' steady state (tenure mix). A spell's length follows a piecewise-constant monthly
   hazard by tenure month (attrition is highest in the first months); spells of the initial force
   are drawn conditionally on having survived to the start. Some leavers come back (rehire: a new
   spell of the same agent code).
3. Careers inside a spell: conversion after probation, up to three promotions, a few demotions
   and at most one transfer, each dated strictly inside the spell.
4. Production per in-force agent and month, then riders, free-look cancellations, first-year
   instalments, surrenders and renewals per policy.
5. Plans from last year's actual FYP; attendance and work logs for the last months.
6. Issue 15: monthly personal goals (定标), the next day's plan with most work logs (日工作计划)
   and one staff user per tracking link and branch (组训: per sub-branch), assigned to it.

Days are integers counted from the start date (day 0); ``NEVER`` marks an event that does not
happen. ``leave`` is the first day no longer in force (data-contract semantics).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zhuizong.demo.params import DemoParams
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS

NEVER = 10**9
MONTH_DAYS = 365.25 / 12

#: the rank ladder (code, name, category, level); indices 0..6 are used throughout
RANKS: tuple[tuple[str, str, str, int], ...] = (
    ("T", "试用业务员", "probationary", 1),
    ("A1", "正式业务员", "formal", 2),
    ("A2", "高级业务员", "formal", 3),
    ("A3", "资深业务员", "formal", 4),
    ("D1", "业务主任", "director", 5),
    ("D2", "营业部经理", "director", 6),
    ("D3", "总监", "director", 7),
)
#: rank index of the head of an org unit by level
HEAD_RANK = {"group": 4, "department": 5, "sub_branch": 6, "branch": 6}
#: days after hire at which a head passed each step T→A1→A2→A3→D1→D2→D3
HEAD_CAREER = (120, 485, 850, 1215, 1825, 2555)

#: products: code, name, is_main, pay_mode, term_years, fyc_rate, std_factor, median premium 元,
#: weight in Jan–Mar (开门红, savings-heavy), weight in the other months
PRODUCTS: tuple[tuple[str, str, bool, str, int, float, float, int, float, float], ...] = (
    ("P01", "鑫享年金保险(趸交)", True, "single", 1, 0.05, 0.1, 50000, 0.10, 0.05),
    ("P02", "安盈两全保险(3年交)", True, "regular", 3, 0.10, 0.3, 10000, 0.15, 0.08),
    ("P03", "金福年金保险(5年交)", True, "regular", 5, 0.15, 0.5, 12000, 0.15, 0.08),
    ("P04", "福满堂年金保险(10年交)", True, "regular", 10, 0.25, 1.0, 8000, 0.12, 0.10),
    ("P05", "康宁终身重大疾病保险(20年交)", True, "regular", 20, 0.40, 1.0, 6000, 0.08, 0.22),
    ("P06", "守护一生重大疾病保险(10年交)", True, "regular", 10, 0.30, 1.0, 7000, 0.06, 0.18),
    ("P07", "鸿运两全保险(3年交)", True, "regular", 3, 0.10, 0.3, 15000, 0.12, 0.06),
    ("P08", "稳盈终身寿险(万能型,趸交)", True, "single", 1, 0.03, 0.1, 80000, 0.04, 0.03),
    ("P09", "传世终身寿险(20年交)", True, "regular", 20, 0.35, 1.0, 9000, 0.04, 0.10),
    ("P10", "智慧星少儿教育金保险(5年交)", True, "regular", 5, 0.15, 0.5, 5000, 0.06, 0.10),
    ("R01", "附加意外伤害保险", False, "regular", 1, 0.20, 1.0, 300, 0.35, 0.35),
    ("R02", "附加住院医疗保险", False, "regular", 1, 0.20, 1.0, 500, 0.30, 0.30),
    ("R03", "附加重大疾病保险(20年交)", False, "regular", 20, 0.35, 1.0, 1500, 0.25, 0.25),
    ("R04", "附加投保人豁免保险费(10年交)", False, "regular", 10, 0.25, 1.0, 200, 0.10, 0.10),
)

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志海燕宇晨浩然思雨欣怡佳琪子涵梓轩"
    "博文天佑雪梅春兰凤琴晓东振华家豪俊杰诗婷梦瑶一鸣嘉怡若曦宏亮德明永福慧颖舒婷立新金龙"
)
CITIES = (
    "苏州",
    "杭州",
    "宁波",
    "无锡",
    "南京",
    "合肥",
    "福州",
    "厦门",
    "济南",
    "青岛",
    "郑州",
    "武汉",
    "长沙",
    "成都",
    "重庆",
    "西安",
    "昆明",
    "南宁",
    "广州",
    "深圳",
    "佛山",
    "东莞",
    "石家庄",
    "太原",
    "沈阳",
    "大连",
    "长春",
    "哈尔滨",
    "南昌",
    "贵阳",
    "兰州",
    "海口",
    "呼和浩特",
    "乌鲁木齐",
    "银川",
    "西宁",
    "拉萨",
)
DISTRICTS = (
    "城东",
    "城西",
    "城南",
    "城北",
    "高新",
    "开发区",
    "新区",
    "滨湖",
    "江北",
    "江南",
    "湖西",
    "湖东",
    "港区",
    "老城",
    "东城",
    "西城",
    "南湖",
    "北湖",
    "金山",
    "银河",
    "青山",
    "白云",
    "龙华",
    "凤凰",
    "桃源",
    "花园",
)
CN_NUM = "一二三四五六七八九十"


@dataclass
class DemoData:
    """The generated agency: one frame per import kind (columns = the kind's codes, typed)."""

    params: DemoParams
    start: dt.date
    end: dt.date
    frames: dict[str, pd.DataFrame]
    #: head (主管) agent code of every org unit, and the org tree's levels
    heads: dict[str, str] = field(default_factory=dict)
    #: demo staff users of the tracking links (username, role, org_code, org_name, agent_code),
    #: the users the ``track_assignments`` frame names (created by ``build_demo``, not imported)
    staff: list[dict[str, object]] = field(default_factory=list)

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.frames[kind]

    def counts(self) -> dict[str, int]:
        return {k: len(self.frames[k]) for k in IMPORT_ORDER}


# --- helpers ----------------------------------------------------------------------------------


def _uniform_int(
    rng: np.random.Generator, lo: np.ndarray | int, hi: np.ndarray | int, size: int
) -> np.ndarray:
    """Integers uniform in [lo, hi] (inclusive), lo/hi scalars or arrays."""
    lo_a = np.asarray(lo, dtype=np.int64)
    hi_a = np.asarray(hi, dtype=np.int64)
    return lo_a + np.floor(rng.random(size) * (hi_a - lo_a + 1)).astype(np.int64)


def _explode(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts per item: (item index per row, position of the row within its item)."""
    counts = counts.astype(np.int64)
    item = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(item)) - starts[item]
    return item, pos


def _codes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    fmt = f"{prefix}{{:0{width}d}}".format
    return np.array([fmt(n) for n in numbers.tolist()], dtype=object)


def _partition(rng: np.random.Generator, n: int, lo: int, hi: int) -> list[int]:
    """Split n items into consecutive chunks of lo..hi items (the last may be smaller)."""
    sizes: list[int] = []
    left = n
    while left > 0:
        s = min(left, int(rng.integers(lo, hi + 1)))
        sizes.append(s)
        left -= s
    return sizes


class _Hazard:
    """Piecewise-constant leaving hazard by tenure; cumulative hazard and its inverse in days."""

    def __init__(self, attrition: tuple[tuple[int, float], ...]) -> None:
        starts = np.array([m for m, _ in attrition], dtype=float) * MONTH_DAYS
        rates = np.array([-np.log1p(-q) for _, q in attrition]) / MONTH_DAYS  # per day
        far = 200 * 365.25
        self.b = np.append(starts, far)
        seg = np.diff(self.b) * rates
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])
        if rates[-1] == 0:  # flat tail: make the inverse well-defined (never leaves)
            self.cum[-1] += 1e-9

    def cumhaz(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.b, self.cum)

    def survival(self, t: np.ndarray) -> np.ndarray:
        return np.exp(-self.cumhaz(t))

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.cum, self.b)


# --- org tree ---------------------------------------------------------------------------------


@dataclass
class _Orgs:
    code: np.ndarray  # object
    name: np.ndarray  # object
    parent: np.ndarray  # int, -1 for roots
    level: np.ndarray  # object
    groups: np.ndarray  # org indices of the groups
    group_dept: np.ndarray  # department org index of each group (by group position)
    dept_first: np.ndarray  # first group position of each group's department
    dept_count: np.ndarray  # number of groups in each group's department
    ancestors: np.ndarray  # (n_orgs, 4): self, parent, grandparent, … (-1 padded)


def _build_orgs(p: DemoParams, rng: np.random.Generator) -> _Orgs:
    heads_per_group = 1.2  # group head + share of department/sub-branch/branch heads
    n_groups = max(p.branches, round(p.agents / (p.group_size + heads_per_group)))
    dept_sizes = _partition(rng, n_groups, *p.groups_per_department)
    sub_sizes = _partition(rng, len(dept_sizes), *p.departments_per_sub_branch)
    n_branches = min(p.branches, len(sub_sizes))
    subs_per_branch = [len(a) for a in np.array_split(np.arange(len(sub_sizes)), n_branches)]

    def width(n: int) -> int:
        return max(2, len(str(n)))

    bw = width(n_branches)
    sw = width(max(subs_per_branch))
    dw = width(max(sub_sizes))
    gw = width(max(dept_sizes))
    code: list[str] = []
    name: list[str] = []
    parent: list[int] = []
    level: list[str] = []
    groups: list[int] = []
    group_dept: list[int] = []
    dept_first: list[int] = []
    dept_count: list[int] = []
    di = si = 0
    for b in range(n_branches):
        b_idx = len(code)
        b_code = f"B{b + 1:0{bw}d}"
        city = CITIES[b % len(CITIES)] + (str(b // len(CITIES) + 1) if b >= len(CITIES) else "")
        code.append(b_code)
        name.append(f"{city}分公司")
        parent.append(-1)
        level.append("branch")
        for s in range(subs_per_branch[b]):
            s_idx = len(code)
            s_code = f"{b_code}S{s + 1:0{sw}d}"
            dist = DISTRICTS[s % len(DISTRICTS)] + (
                str(s // len(DISTRICTS) + 1) if s >= len(DISTRICTS) else ""
            )
            code.append(s_code)
            name.append(f"{city}{dist}支公司")
            parent.append(b_idx)
            level.append("sub_branch")
            for d in range(sub_sizes[si]):
                d_idx = len(code)
                d_code = f"{s_code}D{d + 1:0{dw}d}"
                d_label = CN_NUM[d] if d < 10 else str(d + 1)
                code.append(d_code)
                name.append(f"{city}{dist}营业{d_label}部")
                parent.append(s_idx)
                level.append("department")
                n_g = dept_sizes[di]
                first = len(groups)
                for g in range(n_g):
                    groups.append(len(code))
                    group_dept.append(d_idx)
                    dept_first.append(first)
                    dept_count.append(n_g)
                    code.append(f"{d_code}G{g + 1:0{gw}d}")
                    name.append(f"{city}{dist}营业{d_label}部{g + 1}组")
                    parent.append(d_idx)
                    level.append("group")
                di += 1
            si += 1
    par = np.array(parent, dtype=np.int64)
    n = len(code)
    anc = np.full((n, 4), -1, dtype=np.int64)
    anc[:, 0] = np.arange(n)
    for k in range(1, 4):
        prev = anc[:, k - 1]
        anc[:, k] = np.where(prev >= 0, par[np.maximum(prev, 0)], -1)
    return _Orgs(
        code=np.array(code, dtype=object),
        name=np.array(name, dtype=object),
        parent=par,
        level=np.array(level, dtype=object),
        groups=np.array(groups, dtype=np.int64),
        group_dept=np.array(group_dept, dtype=np.int64),
        dept_first=np.array(dept_first, dtype=np.int64),
        dept_count=np.array(dept_count, dtype=np.int64),
        ancestors=anc,
    )


# --- spells -----------------------------------------------------------------------------------


@dataclass
class _Spells:
    agent: np.ndarray
    spell_no: np.ndarray
    hire: np.ndarray
    leave: np.ndarray  # may be > E (still in force at the end)
    org: np.ndarray  # org index at hire
    xfer: np.ndarray  # transfer day or NEVER
    xfer_org: np.ndarray
    steps: np.ndarray  # (n, 6) days of rank steps up (NEVER if not reached)
    demote: np.ndarray  # day of a one-step demotion or NEVER
    is_head: np.ndarray
    talent: np.ndarray
    recruiter: np.ndarray  # agent index or -1

    def __len__(self) -> int:
        return len(self.agent)

    def rank_at(self, day: np.ndarray | int, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Rank index on ``day`` (scalar, or one day per selected spell)."""
        d = np.asarray(day)
        steps = self.steps[idx]
        up = (steps <= (d[..., None] if d.ndim else d)).sum(axis=-1)
        return up - (self.demote[idx] <= d)

    def org_at(self, day: np.ndarray, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        return np.where(day >= self.xfer[idx], self.xfer_org[idx], self.org[idx])

    def take(self, idx: np.ndarray) -> _Spells:
        return _Spells(**{k: v[idx] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(parts: list[_Spells]) -> _Spells:
        return _Spells(
            **{k: np.concatenate([getattr(s, k) for s in parts]) for k in parts[0].__dict__}
        )


def _careers(
    p: DemoParams,
    rng: np.random.Generator,
    hire: np.ndarray,
    leave: np.ndarray,
    org: np.ndarray,
    orgs: _Orgs,
    group_pos: np.ndarray,
    end: int,
) -> dict[str, np.ndarray]:
    """Conversion, promotions, demotion and a transfer for member spells (days absolute)."""
    n = len(hire)
    steps = np.full((n, 6), NEVER, dtype=np.int64)
    lo, hi = p.convert_window_days
    conv = hire + _uniform_int(rng, lo, hi, n)
    steps[:, 0] = np.where(rng.random(n) < p.convert_share, conv, NEVER)
    last = steps[:, 0].copy()
    for k, (share, lo, hi) in enumerate(p.promotions):
        nxt = last + _uniform_int(rng, lo, hi, n)
        ok = (last < NEVER) & (rng.random(n) < share)
        steps[:, k + 1] = np.where(ok, nxt, NEVER)
        last = np.where(ok, nxt, last)
    promoted = steps[:, 1] < NEVER
    lo, hi = p.demote_after_days
    demote = np.where(
        promoted & (rng.random(n) < p.demote_share), last + _uniform_int(rng, lo, hi, n), NEVER
    )
    # at most one transfer: exponential waiting time from 30 days after hire
    rate = max(p.transfer_rate, 1e-12) / 365.25
    xfer = hire + 30 + np.floor(rng.exponential(1 / rate, n)).astype(np.int64)
    collide = (steps == xfer[:, None]).any(axis=1) | (demote == xfer)
    ok = (xfer < leave) & (xfer <= end) & ~collide
    xfer = np.where(ok, xfer, NEVER)
    # destination: another group of the same department, else any other group
    n_groups = len(orgs.groups)
    same = (rng.random(n) < p.transfer_same_department) & (orgs.dept_count[group_pos] > 1)
    off = _uniform_int(rng, 1, np.maximum(orgs.dept_count[group_pos] - 1, 1), n)
    local = group_pos - orgs.dept_first[group_pos]
    dest_same = orgs.dept_first[group_pos] + (local + off) % orgs.dept_count[group_pos]
    dest_any = (group_pos + _uniform_int(rng, 1, max(n_groups - 1, 1), n)) % n_groups
    dest = np.where(same, dest_same, dest_any)
    if n_groups == 1:
        xfer[:] = NEVER
    return {"steps": steps, "demote": demote, "xfer": xfer, "xfer_org": orgs.groups[dest]}


def _month_grid(start: dt.date, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Start day and length of months first..last (relative to the start month)."""
    m0 = np.datetime64(start, "M")
    months = m0 + np.arange(first, last + 2)
    days = (months.astype("datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    return days[:-1], np.diff(days)


def _spells(
    p: DemoParams, rng: np.random.Generator, orgs: _Orgs, start: dt.date, end: int, n_months: int
) -> _Spells:
    hz = _Hazard(p.attrition)
    n_orgs = len(orgs.code)
    n_groups = len(orgs.groups)
    season = np.array(p.hire_seasonality) / np.mean(p.hire_seasonality)
    back = 12 * 30  # the initial force is drawn from 30 years of (virtual) past recruiting
    m_start, m_len = _month_grid(start, -back, n_months - 1)
    k = np.arange(-back, n_months)
    moy = (start.month - 1 + k) % 12
    w = season[moy] * (1 + p.annual_growth) ** (k / 12)
    # days of each month up to the end date
    m_len_eff = np.clip(np.minimum(m_start + m_len - 1, end) - m_start + 1, 0, None)
    # expected survivors of one month's hires at the end date / at the start, per unit of w
    frac = (np.arange(8) + 0.5) / 8
    pts = m_start[:, None] + frac[None, :] * m_len_eff[:, None]
    surv_end = hz.survival(end + 1 - pts).mean(axis=1) * (m_len_eff / m_len)
    surv_start = hz.survival(-pts).mean(axis=1)
    members_target = p.agents - n_orgs
    # rehires add roughly rehire_share × (share of the force that is a returning spell)
    rehire_boost = 1 + 0.25 * p.rehire_share
    h_base = max(members_target, 1) / (w * surv_end).sum() / rehire_boost

    # initial force: members in force at day 0, by hire month
    pre = k < 0
    n_init = rng.poisson(h_base * w[pre] * surv_start[pre])
    mi = np.repeat(np.nonzero(pre)[0], n_init)
    hire0 = m_start[mi] + np.floor(rng.random(len(mi)) * m_len[mi]).astype(np.int64)
    tau = -hire0.astype(float)  # tenure at the start; condition on surviving it
    dur0 = hz.inverse(hz.cumhaz(tau) + rng.exponential(1.0, len(mi)))
    # window hires
    win = ~pre
    n_new = rng.poisson(h_base * w[win] * (m_len_eff[win] / m_len[win]))
    mj = np.repeat(np.nonzero(win)[0], n_new)
    hire1 = m_start[mj] + np.floor(rng.random(len(mj)) * m_len_eff[mj]).astype(np.int64)
    dur1 = hz.inverse(rng.exponential(1.0, len(mj)))
    hire = np.concatenate([hire0, hire1])
    dur = np.concatenate([dur0, dur1])
    order = np.argsort(hire, kind="stable")
    hire, dur = hire[order], dur[order]
    leave = np.maximum(hire + np.ceil(dur).astype(np.int64), hire + 1)
    leave = np.maximum(leave, np.where(hire < 0, 1, 0))  # initial force is in force on day 0
    n_mem = len(hire)
    # attractiveness of groups: some recruit more than others
    gw_ = rng.lognormal(0, 0.15, n_groups)
    gpos = rng.choice(n_groups, size=n_mem, p=gw_ / gw_.sum())
    car = _careers(p, rng, hire, leave, orgs.groups[gpos], orgs, gpos, end)
    members = _Spells(
        agent=n_orgs + np.arange(n_mem),
        spell_no=np.ones(n_mem, dtype=np.int64),
        hire=hire,
        leave=leave,
        org=orgs.groups[gpos],
        xfer=car["xfer"],
        xfer_org=car["xfer_org"],
        steps=car["steps"],
        demote=car["demote"],
        is_head=np.zeros(n_mem, dtype=bool),
        talent=rng.lognormal(-(p.talent_sigma**2) / 2, p.talent_sigma, n_mem),
        recruiter=np.full(n_mem, -1, dtype=np.int64),
    )

    # heads: one per org unit, long tenure, in force throughout
    levels = orgs.level
    tenure_years = np.where(levels == "group", 0, 1.0) * 4 + 4  # groups 4..12y, others 8..16y
    h_hire = -np.floor((tenure_years + rng.random(n_orgs) * 8) * 365.25).astype(np.int64)
    head_rank = np.array([HEAD_RANK[lv] for lv in levels])
    h_steps = np.full((n_orgs, 6), NEVER, dtype=np.int64)
    for s, off in enumerate(HEAD_CAREER):
        h_steps[:, s] = np.where(head_rank > s, h_hire + off, NEVER)
    heads = _Spells(
        agent=np.arange(n_orgs),
        spell_no=np.ones(n_orgs, dtype=np.int64),
        hire=h_hire,
        leave=np.full(n_orgs, NEVER, dtype=np.int64),
        org=np.arange(n_orgs),
        xfer=np.full(n_orgs, NEVER, dtype=np.int64),
        xfer_org=np.arange(n_orgs),
        steps=h_steps,
        demote=np.full(n_orgs, NEVER, dtype=np.int64),
        is_head=np.ones(n_orgs, dtype=bool),
        talent=rng.lognormal(-(p.talent_sigma**2) / 2, p.talent_sigma, n_orgs),
        recruiter=orgs.parent.copy(),
    )

    # rehires: a share of leavers come back once, into their last group or another one
    left = np.nonzero(members.leave <= end)[0]
    lo, hi = p.rehire_gap_days
    back_day = members.leave[left] + _uniform_int(rng, lo, hi, len(left))
    ok = (rng.random(len(left)) < p.rehire_share) & (back_day <= end)
    src, r_hire = left[ok], back_day[ok]
    n_r = len(src)
    last_org = members.org_at(members.leave[src] - 1, src)
    last_pos = np.searchsorted(orgs.groups, last_org)
    gpos_r = np.where(rng.random(n_r) < 0.7, last_pos, rng.integers(0, n_groups, n_r))
    r_leave = np.maximum(
        r_hire + np.ceil(hz.inverse(rng.exponential(1.0, n_r))).astype(np.int64), r_hire + 1
    )
    car_r = _careers(p, rng, r_hire, r_leave, orgs.groups[gpos_r], orgs, gpos_r, end)
    rehires = _Spells(
        agent=members.agent[src],
        spell_no=np.full(n_r, 2, dtype=np.int64),
        hire=r_hire,
        leave=r_leave,
        org=orgs.groups[gpos_r],
        xfer=car_r["xfer"],
        xfer_org=car_r["xfer_org"],
        steps=car_r["steps"],
        demote=car_r["demote"],
        is_head=np.zeros(n_r, dtype=bool),
        talent=members.talent[src],
        recruiter=np.full(n_r, -1, dtype=np.int64),
    )
    sp = _Spells.concat([heads, members, rehires])
    _assign_recruiters(p, rng, sp, orgs, start, end, n_months)
    return sp


def _assign_recruiters(
    p: DemoParams,
    rng: np.random.Generator,
    sp: _Spells,
    orgs: _Orgs,
    start: dt.date,
    end: int,
    n_months: int,
) -> None:
    """推荐人: the group head or a formal agent in force in the same group (per month)."""
    head_of = np.arange(len(orgs.code))  # head agent index == org index
    member = ~sp.is_head
    # initial force: the head, or a member of the same group hired earlier
    init = np.nonzero(member & (sp.hire < 0))[0]
    o = sp.org[init]
    order = np.lexsort((sp.hire[init], o))
    init, o = init[order], o[order]
    first = np.searchsorted(o, o, side="left")
    pos = np.arange(len(init)) - first
    pick = first + np.floor(rng.random(len(init)) * pos).astype(np.int64)
    use_head = (pos == 0) | (rng.random(len(init)) < 0.5)
    sp.recruiter[init] = np.where(
        use_head, head_of[o], sp.agent[init[np.minimum(pick, len(init) - 1)]]
    )
    # window hires: candidates in force and formal at the start of the hire month
    m_start, _ = _month_grid(start, 0, n_months - 1)
    new = np.nonzero(member & (sp.hire >= 0))[0]
    hire_month = np.searchsorted(m_start, sp.hire[new], side="right") - 1
    cand_all = np.nonzero(member)[0]
    for k, day in enumerate(m_start):
        hires = new[hire_month == k]
        if len(hires) == 0:
            continue
        c = cand_all[(sp.hire[cand_all] <= day) & (sp.leave[cand_all] > day)]
        c = c[sp.rank_at(np.full(len(c), day), c) >= 1]
        c_org = sp.org_at(day, c)
        order = np.argsort(c_org, kind="stable")
        c, c_org = c[order], c_org[order]
        g = sp.org[hires]
        lo = np.searchsorted(c_org, g, side="left")
        cnt = np.searchsorted(c_org, g, side="right") - lo
        pick = lo + np.floor(rng.random(len(hires)) * cnt).astype(np.int64)
        use_head = (cnt == 0) | (rng.random(len(hires)) < 0.4)
        chosen = sp.agent[c[np.minimum(pick, max(len(c) - 1, 0))]] if len(c) else head_of[g]
        sp.recruiter[hires] = np.where(use_head, head_of[g], chosen)


# --- events and agents ------------------------------------------------------------------------


def _without_cycles(recruiter: np.ndarray, hire: np.ndarray) -> np.ndarray:
    """Recruiters per agent with no cycle: an agent rehired into another group can be drawn as the
    recruiter of their own recruiter (spells differ, agents don't). In each cycle the link of the
    agent hired last is cut (recruited by the company, -1), as the import refuses cycles."""
    out = recruiter.copy()
    state = np.zeros(len(out), dtype=np.int8)  # 0 new, 1 on the current path, 2 done
    for start in range(len(out)):
        path: list[int] = []
        a = start
        while a >= 0 and state[a] == 0:
            state[a] = 1
            path.append(a)
            a = int(out[a])
        if a >= 0 and state[a] == 1:  # a cycle: from a along the path
            cycle = path[path.index(a):]
            out[max(cycle, key=lambda i: (int(hire[i]), i))] = -1
        for i in path:
            state[i] = 2
    return out


def _supervisor(sp: _Spells, orgs: _Orgs, org: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Supervisor agent index (-1 = none): the unit's head, or for a head the parent's head."""
    parent = orgs.parent[org]
    return np.where(sp.is_head[idx], parent, org)


def _events(sp: _Spells, orgs: _Orgs, end: int) -> pd.DataFrame:
    n = len(sp)
    idx = np.arange(n)
    parts = []

    def add(mask: np.ndarray, day: np.ndarray, etype: str, state: bool = True) -> None:
        i = idx[mask]
        d = day[mask]
        if state:
            org = sp.org_at(d, i)
            rank = sp.rank_at(d, i)
            sup = _supervisor(sp, orgs, org, i)
        else:
            org = rank = sup = np.full(len(i), -1)
        parts.append(
            pd.DataFrame(
                {"spell": i, "day": d, "etype": etype, "rank": rank, "org": org, "sup": sup}
            )
        )

    add(sp.spell_no == 1, sp.hire, "hire")
    add(sp.spell_no == 2, sp.hire, "rehire")
    limit = np.minimum(sp.leave - 1, end)
    for s in range(6):
        d = sp.steps[:, s]
        add((d <= limit), d, "convert" if s == 0 else "promote")
    add(sp.demote <= limit, sp.demote, "demote")
    add(sp.xfer <= limit, sp.xfer, "transfer")
    add(sp.leave <= end, sp.leave, "leave", state=False)
    ev = pd.concat(parts, ignore_index=True)
    ev["agent"] = sp.agent[ev["spell"].to_numpy()]
    return ev.sort_values(["agent", "day", "spell"], kind="stable").reset_index(drop=True)


# --- production -------------------------------------------------------------------------------


def _premiums(
    p: DemoParams, rng: np.random.Generator, sp: _Spells, start: dt.date, end: int, n_months: int
) -> pd.DataFrame:
    prod = PRODUCTS
    mains = np.array([i for i, x in enumerate(prod) if x[2]])
    riders = np.array([i for i, x in enumerate(prod) if not x[2]])
    regular = np.array([x[3] == "regular" for x in prod])
    term = np.array([x[4] for x in prod])
    fyc_rate = np.array([x[5] for x in prod])
    median = np.array([x[7] for x in prod], dtype=float)
    w_q1 = np.array([prod[i][8] for i in mains])
    w_rest = np.array([prod[i][9] for i in mains])
    w_rider = np.array([prod[i][9] for i in riders])
    act = np.array(p.activity_by_rank)
    cases = np.array(p.cases_by_rank)
    season = np.array(p.sales_seasonality) / np.mean(p.sales_seasonality)
    m_start, m_len = _month_grid(start, 0, n_months - 1)

    pol_spell, pol_day, pol_prod, pol_annual = [], [], [], []
    for k in range(n_months):
        a = m_start[k]
        b = min(a + m_len[k] - 1, end)
        live = np.nonzero((sp.hire <= b) & (sp.leave > a))[0]
        s = np.maximum(sp.hire[live], a)
        e = np.minimum(sp.leave[live] - 1, b)
        expo = e - s + 1
        moy = (start.month - 1 + k) % 12
        r = np.clip(sp.rank_at((s + e) // 2, live), 0, 6)
        p_act = np.clip(act[r] * season[moy] ** 0.3, 0, 0.97) * np.minimum(1.0, expo / 15)
        active = rng.random(len(live)) < p_act
        lam = np.maximum(cases[r] * sp.talent[live] * season[moy] - 1, 0)
        n = np.where(active, 1 + rng.poisson(lam), 0)
        rows, _ = _explode(n)
        i = live[rows]
        day = s[rows] + np.floor(rng.random(len(rows)) * expo[rows]).astype(np.int64)
        w = w_q1 if moy < 3 else w_rest
        prd = mains[rng.choice(len(mains), size=len(rows), p=w / w.sum())]
        amt = (
            median[prd]
            * np.sqrt(sp.talent[i])
            * np.exp(rng.normal(-(p.amount_sigma**2) / 2, p.amount_sigma, len(rows)))
        )
        pol_spell.append(i)
        pol_day.append(day)
        pol_prod.append(prd)
        pol_annual.append(np.maximum(np.round(amt / 10) * 10, 100).astype(np.int64))
    spell = np.concatenate(pol_spell)
    issue = np.concatenate(pol_day)
    product = np.concatenate(pol_prod)
    annual = np.concatenate(pol_annual)  # 元
    order = np.lexsort((spell, issue))
    spell, issue, product, annual = spell[order], issue[order], product[order], annual[order]
    n_pol = len(spell)
    # payment frequency of regular policies: 1 (annual), 4 (quarterly) or 12 (monthly)
    u = rng.random(n_pol)
    freq = np.where(
        ~regular[product],
        1,
        np.where(u < p.monthly_share, 12, np.where(u < p.monthly_share + p.quarterly_share, 4, 1)),
    )
    # riders on some regular main policies: same policy, schedule and fate
    has_rider = regular[product] & (rng.random(n_pol) < p.rider_share)
    r_pol = np.nonzero(has_rider)[0]
    r_prod = riders[rng.choice(len(riders), size=len(r_pol), p=w_rider / w_rider.sum())]
    r_amt = median[r_prod] * np.exp(
        rng.normal(-(p.amount_sigma**2) / 2, p.amount_sigma, len(r_pol))
    )
    r_annual = np.maximum(np.round(r_amt / 10) * 10, 50).astype(np.int64)
    # policy-level fates
    lo, hi = p.free_look_days
    cancel = np.where(
        rng.random(n_pol) < p.free_look_share, issue + _uniform_int(rng, lo, hi, n_pol), NEVER
    )
    surrender = np.where(
        regular[product] & (cancel == NEVER) & (rng.random(n_pol) < p.surrender_share),
        issue + _uniform_int(rng, 30, 330, n_pol),
        NEVER,
    )
    paid2 = rng.random(n_pol) < p.renewal_rate_year2
    more = rng.geometric(1 - min(p.renewal_rate_later, 0.999999), n_pol) - 1
    last_year = np.where(paid2, 2 + more, 1)
    last_year = np.where((cancel < NEVER) | (surrender < NEVER), 1, last_year)

    # lines: main + rider lines share the policy index
    l_pol = np.concatenate([np.arange(n_pol), r_pol])
    l_prod = np.concatenate([product, r_prod])
    l_freq = freq[l_pol]
    l_annual = np.concatenate([annual, r_annual])
    inst = np.maximum(np.round(l_annual / l_freq), 1).astype(np.int64)  # 元 per instalment
    l_issue = issue[l_pol]
    l_leave = sp.leave[spell[l_pol]]
    n_lines = len(l_pol)
    frames = []

    def add_rows(
        line: np.ndarray,
        day: np.ndarray,
        ttype: int,
        amount: np.ndarray,
        year: np.ndarray,
        seq: np.ndarray,
    ) -> None:
        frames.append((line, day, np.full(len(line), ttype, dtype=np.int8), amount, year, seq))

    one = np.ones(n_lines, dtype=np.int64)
    zero = np.zeros(n_lines, dtype=np.int64)
    lines = np.arange(n_lines)
    add_rows(lines, l_issue, 0, inst, one, zero)
    # first-year instalments (首年续期), stop at cancellation or surrender
    li, j = _explode(l_freq - 1)
    j = j + 1
    fy_day = l_issue[li] + np.round(j * 365.25 / l_freq[li]).astype(np.int64)
    stop = np.minimum(cancel[l_pol[li]], surrender[l_pol[li]])
    keep = fy_day < stop
    add_rows(li[keep], fy_day[keep], 1, inst[li[keep]], one[li[keep]], j[keep])
    # free-look cancellation: the first premium back
    c = np.nonzero(cancel[l_pol] < NEVER)[0]
    add_rows(c, cancel[l_pol[c]], 2, inst[c], one[c], zero[c])
    # surrender: the first-year premium paid so far
    s = np.nonzero(surrender[l_pol] < NEVER)[0]
    s_day = surrender[l_pol[s]]
    n_paid = 1 + np.minimum(
        np.floor((s_day - l_issue[s]) / (365.25 / l_freq[s])).astype(np.int64), l_freq[s] - 1
    )
    add_rows(s, s_day, 3, inst[s] * n_paid, one[s], zero[s])
    # renewals (续期), one annualised row per policy year 2..last paid year
    n_ren = np.clip(np.minimum(last_year[l_pol], term[l_prod]) - 1, 0, None)
    n_ren = np.where(regular[l_prod], n_ren, 0)
    li, j = _explode(n_ren)
    year = j + 2
    on_time = rng.random(len(li)) < p.renewal_on_time
    offset = np.where(
        on_time, _uniform_int(rng, -30, 45, len(li)), _uniform_int(rng, 61, 120, len(li))
    )
    due = l_issue[li] + np.round((year - 1) * 365.25).astype(np.int64)
    add_rows(li, due + offset, 4, inst[li] * l_freq[li], year, zero[li])

    line = np.concatenate([f[0] for f in frames])
    day = np.concatenate([f[1] for f in frames])
    ttype = np.concatenate([f[2] for f in frames])
    amount = np.concatenate([f[3] for f in frames])
    year = np.concatenate([f[4] for f in frames])
    seq = np.concatenate([f[5] for f in frames])
    # keep what happened by the end date; first-year money only while the agent is in force
    keep = (day <= end) & ((ttype == 0) | (ttype == 4) | (day < l_leave[line]))
    line, day, ttype, amount, year, seq = (x[keep] for x in (line, day, ttype, amount, year, seq))
    order = np.lexsort((seq, ttype, line, day))
    line, day, ttype, amount, year = (x[order] for x in (line, day, ttype, amount, year))
    pol = l_pol[line]
    prd = l_prod[line]
    amount_fen = amount * 100
    fyc_fen = np.round(amount_fen * fyc_rate[prd]).astype(np.int64)
    return pd.DataFrame(
        {
            "spell": spell[pol],
            "policy": pol,
            "product": prd,
            "day": day,
            "ttype": ttype,
            "amount_fen": amount_fen,
            "issue": issue[pol],
            "year": year,
            "fyc_fen": fyc_fen,
        }
    )


# --- plans, attendance, work logs ---------------------------------------------------------------


def _plans(
    p: DemoParams,
    rng: np.random.Generator,
    sp: _Spells,
    orgs: _Orgs,
    prem: pd.DataFrame,
    start: dt.date,
    end_date: dt.date,
) -> pd.DataFrame:
    sign = np.array([1, 1, -1, -1, 0])
    ttype = prem["ttype"].to_numpy()
    fyp = prem["amount_fen"].to_numpy() * sign[ttype]
    day = prem["day"].to_numpy()
    spell = prem["spell"].to_numpy()
    org = sp.org_at(day, spell)
    month = (np.datetime64(start, "D") + day).astype("datetime64[M]")
    m_idx = (month - np.datetime64(start, "M")).astype(np.int64)
    n_months = int((np.datetime64(end_date, "M") - np.datetime64(start, "M")).astype(int)) + 1
    n_orgs = len(orgs.code)
    actual = np.zeros((n_orgs, n_months))
    for lvl in range(4):
        a = orgs.ancestors[org, lvl]
        ok = (a >= 0) & (fyp != 0)
        np.add.at(actual, (a[ok], m_idx[ok]), fyp[ok] / 100)
    planned = np.nonzero(orgs.level != "group")[0]
    years = range(start.year, end_date.year + 1)
    g = 1 + p.plan_growth
    out_org, out_period, out_target = [], [], []
    for y in years:
        annual = np.zeros(len(planned))
        for moy in range(1, 13):
            # the nearest month-of-year with data, preferring last year
            cands = [y - 1, y, y - 2, y + 1, y - 3, y + 2] + list(range(y - 4, y - 12, -1))
            basis = None
            for yy in cands:
                k = (yy - start.year) * 12 + (moy - start.month)
                if 0 <= k < n_months:
                    basis = actual[planned, k] * g ** (y - yy)
                    break
            assert basis is not None
            noise = np.exp(rng.normal(0, p.plan_noise, len(planned)))
            target = np.maximum(np.round(basis * noise / 100) * 100, 0)
            annual += target
            out_org.append(planned)
            out_period.append(np.full(len(planned), f"{y}-{moy:02d}", dtype=object))
            out_target.append(target)
        out_org.append(planned)
        out_period.append(np.full(len(planned), str(y), dtype=object))
        out_target.append(annual)
    return pd.DataFrame(
        {
            "org_code": orgs.code[np.concatenate(out_org)],
            "period": np.concatenate(out_period),
            "metric": "fyp",
            "target": np.concatenate(out_target).astype(float),
        }
    )


def _tools(
    p: DemoParams,
    rng: np.random.Generator,
    sp: _Spells,
    start: dt.date,
    end: int,
    end_date: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Morning-meeting attendance and work logs of in-force agents on working days (Mon–Sat)."""
    empty_att = pd.DataFrame({"spell": [], "day": [], "status": []})
    if p.activity_months == 0:
        return empty_att, pd.DataFrame({"spell": [], "day": []})
    first_m = np.datetime64(end_date, "M") - (p.activity_months - 1)
    a = max(int((first_m.astype("datetime64[D]") - np.datetime64(start, "D")).astype(int)), 0)
    days = np.arange(a, end + 1)
    dates = np.datetime64(start, "D") + days
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    wd = days[weekday < 6]  # Mon..Sat
    s = np.maximum(sp.hire, a)
    e = np.minimum(sp.leave - 1, end)
    lo = np.searchsorted(wd, s, side="left")
    hi = np.searchsorted(wd, e, side="right")
    n = np.where(e >= s, np.maximum(hi - lo, 0), 0)
    spell, pos = _explode(n)
    day = wd[lo[spell] + pos]
    conc = 12.0
    m = p.attendance_mean
    att_p = rng.beta(m * conc, (1 - m) * conc, len(sp))
    u = rng.random(len(spell))
    attended = u < att_p[spell]
    u2 = rng.random(len(spell))
    # 0 present, 1 late, 2 leave, 3 absent
    status = np.where(
        attended, np.where(u2 < p.late_share, 1, 0), np.where(u2 < p.leave_share, 2, 3)
    ).astype(np.int8)
    # runs of absences before leaving
    lo_r, hi_r = p.absence_run_days
    run = (sp.leave <= end) & (rng.random(len(sp)) < p.absence_run_share)
    run_len = _uniform_int(rng, lo_r, hi_r, len(sp))
    in_run = run[spell] & (pos >= n[spell] - run_len[spell])
    status = np.where(in_run, 3, status).astype(np.int8)
    att = pd.DataFrame({"spell": spell, "day": day, "status": status})
    tm = p.tool_usage_mean
    tool_p = rng.beta(tm * 8, (1 - tm) * 8, len(sp))
    present = status <= 1
    logged = rng.random(len(spell)) < tool_p[spell] * np.where(present, 1.0, 0.6)
    ls, ld = spell[logged], day[logged]
    t = np.sqrt(sp.talent[ls])
    nl = len(ls)
    calls = rng.poisson(6 * t)
    visits = rng.poisson(2.5 * t)
    interviews = rng.poisson(1.3 * t)
    proposals = rng.poisson(0.6 * t)
    closes = rng.binomial(proposals, 0.35)
    referrals = rng.poisson(0.4, nl)
    recruit = rng.poisson(np.where(sp.steps[ls, 3] <= ld, 0.8, 0.2))
    logs = pd.DataFrame(
        {
            "spell": ls,
            "day": ld,
            "calls": calls,
            "visits": visits,
            "interviews": interviews,
            "proposals": proposals,
            "closes": closes,
            "referrals": referrals,
            "recruit_talks": recruit,
        }
    )
    return att, logs


# --- training sessions (培训班次与签到) -----------------------------------------------------------

#: new-hire sessions require agents with at most this many days of tenure
TRAINING_NEW_DAYS = 90
#: sessions are generated for the last this many months (of the attendance months)
TRAINING_MONTHS = 3
#: top-performer sessions invite this many of the branch's most talented formal agents
TRAINING_TOP_INVITES = 10


def _top_ancestor(orgs: _Orgs, level: str) -> np.ndarray:
    """Per org unit: the index of its ancestor (or itself) at ``level`` (-1 when none)."""
    out = np.where(orgs.level == level, np.arange(len(orgs.code)), -1)
    cur = orgs.parent.copy()
    for _ in range(8):  # the tree is at most four levels deep
        hit = (out < 0) & (cur >= 0)
        if not hit.any():
            break
        at = np.where(cur >= 0, orgs.level[np.maximum(cur, 0)] == level, False)
        out = np.where(hit & at, cur, out)
        cur = np.where(cur >= 0, orgs.parent[np.maximum(cur, 0)], -1)
    return out


def _training(p: DemoParams, sp: _Spells, orgs: _Orgs, start: dt.date, end: int,
              agent_code: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly new-hire sessions (岗前培训) per sub-branch (支公司; the branch when there is none)
    with every new hire marked, and a quarterly top-performer session (绩优班) per branch with its
    invitations marked; over the last :data:`TRAINING_MONTHS` attendance months. Work per month,
    never per agent. A generator of its own (seeded from the demo's seed) keeps the other kinds
    exactly as they were."""
    sess_cols = [c.code for c in KINDS["training_sessions"].columns]
    att_cols = [c.code for c in KINDS["training_attendance"].columns]
    empty = (pd.DataFrame({c: [] for c in sess_cols}), pd.DataFrame({c: [] for c in att_cols}))
    if p.activity_months == 0 or not len(sp):
        return empty
    rng = np.random.default_rng([p.seed, 7])
    statuses = np.array(["present", "late", "leave", "absent"], dtype=object)
    probs = [0.86, 0.04, 0.04, 0.06]
    unit_level = "sub_branch" if (orgs.level == "sub_branch").any() else "branch"
    unit_of = _top_ancestor(orgs, unit_level)
    branch_of = _top_ancestor(orgs, "branch")
    sessions: list[dict[str, object]] = []
    rows: list[tuple[np.ndarray, str]] = []
    end_m = np.datetime64(start, "D") + end
    months = np.arange(end_m.astype("datetime64[M]") - (min(p.activity_months, TRAINING_MONTHS) - 1),
                       end_m.astype("datetime64[M]") + 1)
    for month in months:
        first = month.astype("datetime64[D]")
        tenth = first + 9
        wd = int((tenth.view("int64") - 4) % 7)  # 0 = Monday
        day_dt = tenth + (1 - wd) % 7  # the first Tuesday on or after the 10th
        day = int((day_dt - np.datetime64(start, "D")).astype(int))
        if day < 0 or day > end:
            continue
        label = str(month).replace("-", "")
        y, m = int(label[:4]), int(label[4:])
        live = np.nonzero((sp.hire <= day) & (sp.leave > day))[0]
        new = live[day - sp.hire[live] <= TRAINING_NEW_DAYS]
        new_unit = unit_of[sp.org_at(np.full(len(new), day), new)]
        for u in np.unique(new_unit[new_unit >= 0]):
            code = f"TR{label}-{orgs.code[u]}"
            sessions.append({"session_code": code, "title": f"{orgs.name[u]}新人岗前培训 ({y}年{m}月)",
                             "course_kind": "new_hire", "session_date": day_dt,
                             "org_code": orgs.code[u], "max_tenure_days": TRAINING_NEW_DAYS,
                             "location": f"{orgs.name[u]}培训教室"})
            rows.append((agent_code[sp.agent[new[new_unit == u]]], code))
        if m % 3 == 0:  # quarterly top-performer class per branch
            formal = live[sp.rank_at(np.full(len(live), day), live) >= 1]
            f_branch = branch_of[sp.org_at(np.full(len(formal), day), formal)]
            for b in np.unique(f_branch[f_branch >= 0]):
                members = formal[f_branch == b]
                best = members[np.argsort(-sp.talent[members], kind="stable")[:TRAINING_TOP_INVITES]]
                code = f"TP{label}-{orgs.code[b]}"
                sessions.append({"session_code": code, "title": f"{orgs.name[b]}绩优精英班 ({y}年{m}月)",
                                 "course_kind": "top_performer", "session_date": day_dt + 2,
                                 "org_code": orgs.code[b], "max_tenure_days": None,
                                 "location": f"{orgs.name[b]}会议室"})
                rows.append((agent_code[sp.agent[best]], code))
    if not sessions:
        return empty
    s_frame = pd.DataFrame(sessions, columns=sess_cols)
    s_frame["session_date"] = s_frame["session_date"].astype("datetime64[ns]")
    s_frame["max_tenure_days"] = s_frame["max_tenure_days"].astype("Int64")
    codes = np.concatenate([r[0] for r in rows]) if rows else np.array([], dtype=object)
    sess = np.concatenate([np.full(len(r[0]), r[1], dtype=object) for r in rows]) if rows \
        else np.array([], dtype=object)
    a_frame = pd.DataFrame({"session_code": sess, "agent_code": codes,
                            "status": statuses[rng.choice(4, size=len(codes), p=probs)]},
                           columns=att_cols)
    return s_frame, a_frame


# --- goals, daily plans, staff (issue 15: 定标, 日工作计划, 追踪分工) --------------------------------

#: goal metrics the demo sets and the share of agent-months with a goal that get each (fyp: all)
GOAL_SHARES = {"fyp": 1.0, "cases": 0.7, "visits": 0.5, "recruits": 0.35}
#: agent-months (in force, in a goal month) without any goal (定标 not done)
GOAL_MISSING = 0.12
#: monthly FYP (元) an agent of each rank is expected to write without history, × sqrt(talent)
GOAL_FYP_BASE = (4000.0, 6000.0, 8000.0, 10000.0, 12000.0, 12000.0, 12000.0)
#: work logs that carry the next day's plan (日工作计划)
PLAN_SHARE = 0.88


def _goals(p: DemoParams, sp: _Spells, pr: pd.DataFrame, start: dt.date, end: int,
           agent_code: np.ndarray) -> pd.DataFrame:
    """Monthly personal goals (定标) for the activity months and the month after the end date
    (the tracking run's month): FYP for every agent with goals, cases, visits and recruits for a
    share of them; some agent-months have none. A target is the agent's ambition times what they
    can be expected to do (the last three months' FYP and cases, else a rank baseline, × talent),
    so some agents run ahead of their goal and some behind. Work per month, never per agent; a
    generator of its own keeps every other kind as it was."""
    cols = [c.code for c in KINDS["agent_goals"].columns]
    empty = pd.DataFrame({c: [] for c in cols})
    if p.activity_months == 0 or not len(sp):
        return empty
    rng = np.random.default_rng([p.seed, 11])
    s0 = np.datetime64(start, "D")
    end_m = (s0 + end).astype("datetime64[M]")
    last_m = (s0 + end + 1).astype("datetime64[M]")  # the run date's month
    first_m = max(end_m - (p.activity_months - 1), s0.astype("datetime64[M]"))
    months = np.arange(first_m, last_m + 1)
    # FYP (元) and cases per spell and month since the start (month index from the start month)
    n_mon = int((last_m - s0.astype("datetime64[M]")).astype(int)) + 1
    sign = np.array([1, 1, -1, -1, 0])
    ttype = pr["ttype"].to_numpy()
    p_spell = pr["spell"].to_numpy()
    p_mon = ((s0 + pr["day"].to_numpy()).astype("datetime64[M]") - s0.astype("datetime64[M]")).astype(np.int64)
    key = p_spell * n_mon + p_mon
    fyp = np.bincount(key, weights=pr["amount_fen"].to_numpy() * sign[ttype] / 100,
                      minlength=len(sp) * n_mon).reshape(len(sp), n_mon)
    is_main = np.array([x[2] for x in PRODUCTS])
    new_main = (ttype == 0) & is_main[pr["product"].to_numpy()]
    cases = np.bincount(key[new_main], minlength=len(sp) * n_mon).reshape(len(sp), n_mon)
    base_fyp = np.array(GOAL_FYP_BASE)
    metrics = list(GOAL_SHARES)
    out_agent: list[np.ndarray] = []
    out_period: list[np.ndarray] = []
    out_metric: list[np.ndarray] = []
    out_target: list[np.ndarray] = []
    for month in months:
        k = int((month - s0.astype("datetime64[M]")).astype(int))
        a = int((month.astype("datetime64[D]") - s0).astype(int))
        b = min(int(((month + 1).astype("datetime64[D]") - s0).astype(int)) - 1, end)
        live = np.nonzero((sp.hire <= max(b, a)) & (sp.leave > a))[0]
        if not len(live):
            continue
        day = np.full(len(live), max(min(a, end), 0))
        rank = np.clip(sp.rank_at(day, live), 0, 6)
        talent = sp.talent[live]
        lo = max(k - 3, 0)
        span = max(k - lo, 1)
        past_fyp = fyp[live, lo:k].sum(axis=1) / span
        past_cases = cases[live, lo:k].sum(axis=1) / span
        seasoned = sp.hire[live] <= a - 90
        expected = base_fyp[rank] * np.sqrt(talent)
        fyp_base = np.where(seasoned & (past_fyp > 0), 0.5 * past_fyp + 0.5 * expected, expected)
        case_base = np.where(seasoned & (past_cases > 0), past_cases, 1.0)
        has = rng.random(len(live)) >= GOAL_MISSING
        ambition = rng.lognormal(np.log(1.15), 0.3, len(live))
        targets = {
            "fyp": np.maximum(np.round(fyp_base * ambition / 100) * 100, 1000.0),
            "cases": np.maximum(np.round(case_base * ambition), 1.0),
            "visits": np.maximum(np.round(2.5 * np.sqrt(talent) * 20 * ambition), 10.0),
            "recruits": np.where(rng.random(len(live)) < 0.7, 1.0, 2.0),
        }
        label = str(month)
        for m in metrics:
            pick = has & (rng.random(len(live)) < GOAL_SHARES[m])
            if m == "recruits":
                pick &= rank >= 1  # formal agents and above recruit (增员)
            out_agent.append(agent_code[sp.agent[live[pick]]])
            out_period.append(np.full(int(pick.sum()), label, dtype=object))
            out_metric.append(np.full(int(pick.sum()), m, dtype=object))
            out_target.append(targets[m][pick])
    if not out_agent:
        return empty
    frame = pd.DataFrame({"agent_code": np.concatenate(out_agent), "period": np.concatenate(out_period),
                          "metric": np.concatenate(out_metric),
                          "target": np.concatenate(out_target).astype(float)}, columns=cols)
    # a rehired agent has two spells in one month at most once: keep the later spell's goal
    return frame.drop_duplicates(["agent_code", "period", "metric"], keep="last").reset_index(drop=True)


def _plans_of_logs(p: DemoParams, sp: _Spells, logs: pd.DataFrame, start: dt.date) -> dict[str, pd.array]:
    """The next day's plan (日工作计划: planned calls, visits, interviews) filed with most work
    logs: an agent's usual level (talent) times the day's ambition, so a plan is sometimes carried
    out and sometimes not. A Saturday log plans Sunday as a rest day (0, 0, 0). Logs without a plan
    have empty plan columns. A generator of its own keeps the logs themselves as they were."""
    rng = np.random.default_rng([p.seed, 13])
    n = len(logs)
    spell = logs["spell"].to_numpy(dtype=np.int64)
    day = logs["day"].to_numpy(dtype=np.int64)
    weekday = ((np.datetime64(start, "D") + day).view("int64") - 4) % 7  # 0 = Monday
    filed = rng.random(n) < PLAN_SHARE
    t = np.sqrt(sp.talent[spell]) if n else np.zeros(0)
    rest = weekday == 5
    out: dict[str, pd.array] = {}
    for col, level in (("plan_calls", 6.0), ("plan_visits", 2.5), ("plan_interviews", 1.3)):
        planned = np.maximum(np.round(level * t * rng.lognormal(np.log(1.05), 0.25, n)), 1)
        planned = np.where(rest, 0, planned).astype(np.int64)
        out[col] = pd.array(np.where(filed, planned, 0), dtype="Int64")
        out[col][~filed] = pd.NA
    return out


#: link roles the demo staffs per branch (分公司) and per sub-branch (支公司); the executive of a
#: branch is its head (总监), the others are staff users without an agent code
BRANCH_STAFF = ("executive", "assessment", "campaign", "training")
SUB_BRANCH_STAFF = ("trainer",)


def _staff(orgs: _Orgs, agent_code: np.ndarray) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """One staff user per link and branch (考核, 方案, 培训, 营销干部) and one 组训 per sub-branch
    (its departments' morning meetings), each assigned to their unit (``track_assignments``) and
    granted it as scope. The first unit's users keep the plain role names (``trainer``,
    ``training`` …), the others are ``ROLE-ORGCODE``."""
    staff: list[dict[str, object]] = []
    rows: list[tuple[str, str, str]] = []
    for roles, level in ((BRANCH_STAFF, "branch"), (SUB_BRANCH_STAFF, "sub_branch")):
        units = np.nonzero(orgs.level == level)[0]
        if not len(units):  # no sub-branches: the branch's 组训
            units = np.nonzero(orgs.level == "branch")[0]
        for n, u in enumerate(units.tolist()):
            code = str(orgs.code[u])
            for role in roles:
                username = role if n == 0 else f"{role}-{code}"
                staff.append({"username": username, "role": role, "org_code": code,
                              "org_name": str(orgs.name[u]),
                              "agent_code": str(agent_code[u]) if role == "executive" else None})
                rows.append((role, code, username))
    frame = pd.DataFrame(rows, columns=[c.code for c in KINDS["track_assignments"].columns])
    return staff, frame


# --- assembly ---------------------------------------------------------------------------------


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.7, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(sur, g1), g2).astype(object)


def _dates(start: dt.date, days: np.ndarray) -> np.ndarray:
    return (np.datetime64(start, "D") + days.astype(np.int64)).astype("datetime64[ns]")


def generate(params: DemoParams) -> DemoData:
    """Generate the demo agency for ``params`` (pure and deterministic for the seed)."""
    p = params
    rng = np.random.default_rng(p.seed)
    start = p.start_date
    end = (p.end_date - start).days
    n_months = p.years * 12
    orgs = _build_orgs(p, rng)
    sp = _spells(p, rng, orgs, start, end, n_months)
    n_agents = int(sp.agent.max()) + 1
    agent_code = _codes("", np.arange(n_agents) + 10001, 8)
    rank_code = np.array([r[0] for r in RANKS], dtype=object)

    def code_or_none(codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
        out = codes[np.maximum(idx, 0)].copy()
        out[idx < 0] = None
        return out

    frames: dict[str, pd.DataFrame] = {}
    frames["org_units"] = pd.DataFrame(
        {
            "org_code": orgs.code,
            "org_name": orgs.name,
            "parent_code": code_or_none(orgs.code, orgs.parent),
            "level": orgs.level,
        }
    )
    frames["ranks"] = pd.DataFrame(
        {
            "rank_code": rank_code,
            "rank_name": np.array([r[1] for r in RANKS], dtype=object),
            "category": np.array([r[2] for r in RANKS], dtype=object),
            "level": np.array([r[3] for r in RANKS], dtype=np.int64),
        }
    )
    frames["products"] = pd.DataFrame(
        {
            "product_code": np.array([x[0] for x in PRODUCTS], dtype=object),
            "product_name": np.array([x[1] for x in PRODUCTS], dtype=object),
            "is_main": np.array([x[2] for x in PRODUCTS], dtype=bool),
            "pay_mode": np.array([x[3] for x in PRODUCTS], dtype=object),
            "term_years": np.array([x[4] for x in PRODUCTS], dtype=np.int64),
            "fyc_rate": np.array([x[5] for x in PRODUCTS], dtype=float),
            "std_factor": np.array([x[6] for x in PRODUCTS], dtype=float),
        }
    )

    # agents: the latest spell of each agent, state on its last in-force day (or the end date)
    order = np.lexsort((sp.spell_no, sp.agent))
    sorted_agent = sp.agent[order]
    latest = order[np.r_[sorted_agent[1:] != sorted_agent[:-1], True]]
    last_day = np.minimum(sp.leave[latest] - 1, end)
    cur_org = sp.org_at(last_day, latest)
    cur_rank = sp.rank_at(last_day, latest)
    cur_sup = _supervisor(sp, orgs, cur_org, latest)
    leave = sp.leave[latest]
    leave_dates = _dates(start, np.where(leave <= end, leave, 0))
    leave_dates[leave > end] = np.datetime64("NaT")
    frames["agents"] = pd.DataFrame(
        {
            "agent_code": agent_code,
            "agent_name": _names(rng, n_agents),
            "hire_date": _dates(start, sp.hire[latest]),
            "org_code": orgs.code[cur_org],
            "rank_code": rank_code[cur_rank],
            "supervisor_code": code_or_none(agent_code, cur_sup),
            "recruiter_code": code_or_none(agent_code, _without_cycles(sp.recruiter[latest],
                                                                       sp.hire[latest])),
            "leave_date": leave_dates,
            # contacts (issue 16), derived from the index (no draw from rng: the rest of the demo
            # stays as it was): fictitious mobile numbers, WeCom ids for all, DingTalk for a third
            "phone": np.array([f"139{i:08d}" for i in range(n_agents)], dtype=object),
            "wecom_id": np.array([str(c).lower() for c in agent_code], dtype=object),
            "dingtalk_id": np.array([f"dt{c}" if i % 3 == 0 else None
                                     for i, c in enumerate(agent_code)], dtype=object),
        }
    )

    ev = _events(sp, orgs, end)
    frames["agent_events"] = pd.DataFrame(
        {
            "agent_code": agent_code[ev["agent"].to_numpy()],
            "event_date": _dates(start, ev["day"].to_numpy()),
            "event_type": ev["etype"].to_numpy(dtype=object),
            "rank_code": code_or_none(rank_code, ev["rank"].to_numpy()),
            "org_code": code_or_none(orgs.code, ev["org"].to_numpy()),
            "supervisor_code": code_or_none(agent_code, ev["sup"].to_numpy()),
        }
    )

    pr = _premiums(p, rng, sp, start, end, n_months)
    n_pol = int(pr["policy"].max()) + 1 if len(pr) else 0
    policy_no = _codes("P", np.arange(n_pol) + 1, 10)
    txn_types = np.array(
        ["new", "fy_renewal", "free_look_cancel", "surrender", "renewal"], dtype=object
    )
    prod_code = frames["products"]["product_code"].to_numpy()
    ttype = pr["ttype"].to_numpy()
    fyc = pr["fyc_fen"].to_numpy() / 100
    fyc[ttype == 4] = np.nan
    frames["premiums"] = pd.DataFrame(
        {
            "txn_id": _codes("T", np.arange(len(pr)) + 1, 10),
            "policy_no": policy_no[pr["policy"].to_numpy()],
            "agent_code": agent_code[sp.agent[pr["spell"].to_numpy()]],
            "product_code": prod_code[pr["product"].to_numpy()],
            "txn_date": _dates(start, pr["day"].to_numpy()),
            "txn_type": txn_types[ttype],
            "amount": pr["amount_fen"].to_numpy() / 100,
            "issue_date": _dates(start, pr["issue"].to_numpy()),
            "policy_year": pr["year"].to_numpy().astype(np.int64),
            "fyc": fyc,
        }
    )

    frames["plans"] = _plans(p, rng, sp, orgs, pr, start, p.end_date)

    att, logs = _tools(p, rng, sp, start, end, p.end_date)
    statuses = np.array(["present", "late", "leave", "absent"], dtype=object)
    frames["attendance"] = pd.DataFrame(
        {
            "agent_code": agent_code[sp.agent[att["spell"].to_numpy(dtype=np.int64)]],
            "date": _dates(start, att["day"].to_numpy(dtype=np.int64)),
            "meeting": np.full(len(att), "morning", dtype=object),
            "status": statuses[att["status"].to_numpy(dtype=np.int64)],
        }
    )
    wl = {
        "agent_code": agent_code[sp.agent[logs["spell"].to_numpy(dtype=np.int64)]],
        "date": _dates(start, logs["day"].to_numpy(dtype=np.int64)),
    }
    for col in (
        "calls",
        "visits",
        "interviews",
        "proposals",
        "closes",
        "referrals",
        "recruit_talks",
    ):
        wl[col] = logs[col].to_numpy(dtype=np.int64) if col in logs else np.zeros(0, np.int64)
    wl["note"] = np.full(len(logs), None, dtype=object)
    if len(logs):
        wl.update(_plans_of_logs(p, sp, logs, start))
    frames["work_logs"] = pd.DataFrame(wl)

    frames["training_sessions"], frames["training_attendance"] = _training(
        p, sp, orgs, start, end, agent_code)
    frames["agent_goals"] = _goals(p, sp, pr, start, end, agent_code)
    staff, frames["track_assignments"] = _staff(orgs, agent_code)

    for kind, frame in list(frames.items()):
        # optional columns the demo does not generate (a kind gained a column) stay empty
        for c in KINDS[kind].columns:
            if c.code not in frame.columns and not c.is_required:
                frame[c.code] = pd.array([None] * len(frame), dtype="Int64") if c.type == "int" else None
        expected = [c.code for c in KINDS[kind].columns]
        frames[kind] = frame = frame[expected] if set(frame.columns) == set(expected) else frame
        assert list(frame.columns) == expected, (kind, list(frame.columns), expected)
    heads = {str(orgs.code[i]): str(agent_code[i]) for i in range(len(orgs.code))}
    return DemoData(
        params=p,
        start=start,
        end=p.end_date,
        # a kind the demo does not generate (added later) is an empty frame: nothing to import
        frames={k: frames[k] if k in frames else pd.DataFrame(columns=[c.code for c in KINDS[k].columns])
                for k in IMPORT_ORDER},
        heads=heads,
        staff=staff,
    )
