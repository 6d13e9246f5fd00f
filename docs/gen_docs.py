"""Regenerate the reference tables in the docs from the registries they document.

    python docs/gen_docs.py            # rewrite the generated blocks in place
    python docs/gen_docs.py --check    # exit 1 (and name the files) when a block is stale

The tables of ``docs/import-guide.md`` come from :data:`zhuizong.importing.kinds.KINDS` (and the
plannable metric codes of the one registry, :data:`zhuizong.kpi.registry.METRICS`); the KPI
definitions and the other measures of ``docs/kpi-definitions.md`` from
:data:`zhuizong.kpi.registry.MEASURES`; the settings table of
``docs/configuration.md`` comes from :data:`zhuizong.settings.SETTINGS`. Each generated block sits
between ``<!-- BEGIN GENERATED: NAME -->`` and ``<!-- END GENERATED: NAME -->``; everything
outside the markers is prose written by hand and is left untouched. ``tests/test_docs.py`` runs
:func:`render_all` in memory and fails when a committed file differs, so a new import column or
setting cannot land without its documentation.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

from zhuizong import settings as settings_mod
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS, Column, ImportKind
from zhuizong.kpi import registry

# --- import kinds ------------------------------------------------------------------------------

TYPE_DOC: dict[str, tuple[str, str]] = {
    "code": ("code (text; zero padding kept)", "代码 (文本, 保留前导零)"),
    "text": ("text", "文本"),
    "date": ("date `YYYY-MM-DD`", "日期 `YYYY-MM-DD`"),
    "int": ("whole number", "整数"),
    "money": ("money, 元, ≤ 2 decimals", "金额 (元, 最多两位小数)"),
    "decimal": ("decimal number", "小数"),
    "enum": ("one of a list", "枚举"),
    "bool": ("yes/no", "是/否"),
    "period": ("period", "期间"),
}

BOOL_VALUES = "`1`/`0`, `true`/`false`, `是`/`否`, `Y`/`N`"
PERIOD_VALUES = "`2026-05` (month), `2026Q2` (quarter), `2026` (year)"
PERIOD_VALUES_ZH = "`2026-05` (月), `2026Q2` (季), `2026` (年)"


def _status(c: Column, zh: bool) -> str:
    if c.key:
        return "**键 \\***" if zh else "**key \\***"
    if c.required:
        return "**必填**" if zh else "**required**"
    return "可选" if zh else "optional"


def _choices(c: Column) -> str:
    """Allowed codes, each followed by the labels accepted for it."""
    parts = []
    for code in c.choices:
        labels = [label for label, target in c.synonyms.items() if target == code]
        parts.append(" ".join([f"`{code}`", *(f"`{label}`" for label in labels)]))
    return "; ".join(parts)


def _allowed(kind: ImportKind, c: Column, zh: bool) -> str:
    out: list[str] = []
    if c.type == "enum":
        if kind.name == "plans" and c.code == "metric":
            out.append("指标代码, 见下方「指标代码」表" if zh else "a metric code, see *Metric codes*")
        else:
            out.append(_choices(c))
    elif c.type == "bool":
        out.append(BOOL_VALUES)
    elif c.type == "period":
        out.append(PERIOD_VALUES_ZH if zh else PERIOD_VALUES)
    elif c.type == "date":
        out.append(
            "也接受 `YYYY/MM/DD`、`YYYYMMDD`、Excel 日期"
            if zh
            else "also `YYYY/MM/DD`, `YYYYMMDD`, Excel dates"
        )
    if c.positive:
        out.append("> 0")
    elif c.non_negative:
        out.append("≥ 0")
    if c.db_column and c.type == "money":
        out.append(f"存为 `{c.db_column}` (分)" if zh else f"stored as `{c.db_column}` (fen)")
    return "; ".join(out)


def _ref(c: Column, zh: bool) -> str:
    if not c.ref:
        return ""
    table, col = c.ref
    where = "本文件或数据库中已有" if zh else "in this file or already in the database"
    return f"`{table}.{col}` ({where})"


def _kind_table(kind: ImportKind, zh: bool) -> list[str]:
    if zh:
        head = "| 代码 | 中文表头 | 类型 | 键/必填 | 允许值 | 引用 |"
    else:
        head = "| code | 中文表头 | type | key / required | allowed values | references |"
    lines = [head, "|---|---|---|---|---|---|"]
    for c in kind.columns:
        typ = TYPE_DOC[c.type][1 if zh else 0]
        lines.append(
            f"| `{c.code}` | {c.zh} | {typ} | {_status(c, zh)} | {_allowed(kind, c, zh)} "
            f"| {_ref(c, zh)} |"
        )
    return lines


def import_kinds_block(zh: bool = False) -> str:
    lines: list[str] = []
    key_word = "键" if zh else "key"
    for n, name in enumerate(IMPORT_ORDER, 1):
        kind = KINDS[name]
        lines.append(f"### {n}. `{kind.name}` — {kind.zh}")
        lines.append("")
        key = ", ".join(f"`{k}`" for k in kind.key)
        if zh:
            lines.append(
                f"命令: `zhuizong import {kind.name} FILE`。{key_word}: {key} "
                f"(相同键的行更新而不重复)。数据库表: `{kind.table}`。"
            )
        else:
            lines.append(
                f"Command: `zhuizong import {kind.name} FILE`. {key_word.capitalize()}: {key} "
                f"(a row with an existing key updates it). Database table: `{kind.table}`."
            )
        lines.append("")
        lines += _kind_table(kind, zh)
        lines.append("")
    missing = [k for k in KINDS if k not in IMPORT_ORDER]
    if missing:  # pragma: no cover - the registry keeps both in step
        raise SystemExit(f"import kinds missing from IMPORT_ORDER: {missing}")
    lines.append("#### 指标代码 (`plans.metric`)" if zh else "#### Metric codes (`plans.metric`)")
    lines.append("")
    lines.append("| 代码 | 中文 | English |" if zh else "| code | 中文 | English |")
    lines.append("|---|---|---|")
    plan = next(c for c in KINDS["plans"].columns if c.code == "metric")
    for code in plan.choices:
        m = registry.METRICS[code]
        lines.append(f"| `{code}` | {m.zh} | {m.en} |")
    return "\n".join(lines)


# --- settings --------------------------------------------------------------------------------

def _setting_en(info: settings_mod.SettingInfo) -> str:
    return info.en


def _setting_ref(key: str) -> str:
    ref = settings_mod.SETTINGS[key].ref
    if ref.startswith("kpi-spec"):
        return ref
    if ref == "imports":
        return "— (imports)"
    return "—"


def _alternatives(allowed: str) -> str:
    """``natural | work`` → `` `natural` / `work` `` (a bare ``|`` would split the table cell)."""
    parts = [p.strip() for p in allowed.split("|")]
    if all(p and " " not in p for p in parts):
        return " / ".join(f"`{p}`" for p in parts)
    return _cell(allowed)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(value: object) -> str:
    if value == "":
        return '`""`'
    return f"`{value}`"


def settings_block() -> str:
    lines = [
        "| key | default | allowed | 含义 | meaning | KPI spec | environment variable |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, info in settings_mod.SETTINGS.items():
        section, name = key.split(".")
        env = f"ZHUIZONG_{section.upper()}_{name.upper()}"
        lines.append(
            f"| `{key}` | {_default(info.default)} | {_alternatives(info.allowed)} | {_cell(info.zh)} "
            f"| {_cell(_setting_en(info))} | {_setting_ref(key)} | `{env}` |"
        )
    return "\n".join(lines)


# --- blocks and files ------------------------------------------------------------------------

USES = (("per_agent", "agent"), ("flow", "flow"), ("plannable", "plan"),
        ("basic_law", "basic law"), ("basic_law_pending", "basic law (not yet)"),
        ("campaign", "campaign"), ("team", "team"))


def _uses(m: registry.Measure) -> str:
    """The registry attributes of a measure, as the short words of the legend."""
    words = [word for attr, word in USES if getattr(m, attr)]
    if not m.higher_is_better:
        words.append("lower is better")
    return ", ".join(words)


def metrics_block() -> str:
    lines = ["| code | 指标 | metric | 单位 unit | 公式 | formula | use |",
             "|---|---|---|---|---|---|---|"]
    for m in registry.METRICS.values():
        lines.append(f"| `{m.code}` | {m.zh} | {m.en} | {registry.UNIT_ZH[m.unit]} "
                     f"| {_cell(m.formula_zh)} | {_cell(m.formula_en)} | {_uses(m)} |")
    return "\n".join(lines)


def measures_block() -> str:
    """The measures without IR: computed by their consumer, and why the IR cannot express them."""
    lines = ["| code | 指标 | measure | 单位 unit | 定义 | definition | use | computed by | "
             "why not in the IR |", "|---|---|---|---|---|---|---|---|---|"]
    for m in registry.MEASURES.values():
        if not isinstance(m, registry.ConsumerMeasure):
            continue
        lines.append(f"| `{m.code}` | {m.zh} | {m.en} | {registry.UNIT_ZH[m.unit]} "
                     f"| {_cell(m.formula_zh)} | {_cell(m.formula_en)} | {_uses(m)} "
                     f"| `zhuizong.{m.computed_by}` | {_cell(m.why_not_ir)} |")
    return "\n".join(lines)


def signals_block(subject: str) -> str:
    from zhuizong.tracking.signals import AGENT_SIGNALS, ORG_SIGNALS

    sigs = AGENT_SIGNALS if subject == "agent" else ORG_SIGNALS
    lines = ["| signal | 含义 | meaning |", "|---|---|---|"]
    for s in sigs.values():
        lines.append(f"| `{s.name}` | {_cell(s.zh)} | {_cell(s.en)} |")
    return "\n".join(lines)


def rules_block() -> str:
    from zhuizong.tracking.rules import load_rules

    lines = ["| rule | link | subject | when | params | owner | due | priority | message |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in load_rules().rules:
        params = ", ".join(f"{k}={v}" for k, v in r.params.items())
        lines.append(f"| `{r.name}` | {r.link} | {r.subject} | `{_cell(r.when.text)}` | {_cell(params)} "
                     f"| {r.owner_role} | {r.due_days} | {r.priority} | {_cell(r.message_zh)} |")
    return "\n".join(lines)


def permissions_block() -> str:
    from zhuizong.access.actor import PERMISSIONS
    from zhuizong.store.models import ROLES

    lines = ["| action | roles |", "|---|---|"]
    for action, roles in PERMISSIONS.items():
        who = "every role" if set(roles) == set(ROLES) else ", ".join(r for r in ROLES if r in roles)
        lines.append(f"| `{action}` | {who} |")
    return "\n".join(lines)


BLOCKS: dict[str, dict[str, Callable[[], str]]] = {
    "access.md": {"permissions": permissions_block},
    "kpi-definitions.md": {"metrics": metrics_block, "measures": measures_block},
    "tracking.md": {"agent-signals": lambda: signals_block("agent"),
                    "org-signals": lambda: signals_block("org"),
                    "default-rules": rules_block},
    "import-guide.md": {
        "import-kinds": lambda: import_kinds_block(zh=False),
        "import-kinds-zh": lambda: import_kinds_block(zh=True),
    },
    "configuration.md": {"settings": settings_block},
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n)(.*?)(<!-- END GENERATED: {re.escape(name)} -->)",
        re.DOTALL,
    )


def render(text: str, name: str, block: str) -> str:
    """Replace the content between the markers of block ``name`` (which must exist once)."""
    pattern = _pattern(name)
    found = len(pattern.findall(text))
    if found != 1:
        raise ValueError(f"expected one generated block {name!r}, found {found}")
    note = "<!-- generated by docs/gen_docs.py from the registry; edit the code, not this table -->"
    return pattern.sub(lambda m: f"{m.group(1)}{note}\n\n{block}\n\n{m.group(3)}", text)


def render_all(docs_dir: Path = DOCS) -> dict[Path, tuple[str, str]]:
    """``{path: (current text, regenerated text)}`` for every file with generated blocks."""
    out: dict[Path, tuple[str, str]] = {}
    for file_name, blocks in BLOCKS.items():
        path = docs_dir / file_name
        current = path.read_text(encoding="utf-8")
        new = current
        for name, make in blocks.items():
            new = render(new, name, make())
        out[path] = (current, new)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for path, (current, new) in render_all().items():
        if current != new:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        verb = "stale" if args.check else "rewrote"
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
