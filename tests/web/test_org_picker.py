"""The org picker of the dashboard and report pages (``services.dashboard.picker_orgs``): every
visible unit for a small scope; for a large one, the units one step around the chosen one."""

from __future__ import annotations

from zhuizong.services.dashboard import PICKER_ALL, picker_orgs
from zhuizong.services.directory import OrgRow


def _tree(subs: int, depts: int, groups: int) -> list[OrgRow]:
    out = [OrgRow("B", "分公司", None, "branch")]
    for s in range(subs):
        sc = f"B{s:02d}"
        out.append(OrgRow(sc, f"支公司{s}", "B", "sub_branch"))
        for d in range(depts):
            dc = f"{sc}D{d:02d}"
            out.append(OrgRow(dc, f"营业部{d}", sc, "department"))
            out.extend(OrgRow(f"{dc}G{g:02d}", f"组{g}", dc, "group") for g in range(groups))
    return out


def test_small_scope_lists_every_unit() -> None:
    orgs = _tree(2, 3, 4)
    assert len(orgs) <= PICKER_ALL
    assert picker_orgs(orgs, "B00D01") == orgs


def test_large_scope_lists_the_units_around_the_chosen_one() -> None:
    orgs = _tree(20, 6, 8)
    assert len(orgs) > PICKER_ALL
    got = [o.org_code for o in picker_orgs(orgs, "B03D02")]
    subs = [f"B{s:02d}" for s in range(20)]
    # the top, its children (every sub-branch), the chosen unit's siblings and children
    want = {"B", *subs, *(f"B03D{d:02d}" for d in range(6)),
            *(f"B03D02G{g:02d}" for g in range(8))}
    assert set(got) == want
    assert len(got) == len(set(got))
    # tree order: every unit after its parent
    pos = {c: i for i, c in enumerate(got)}
    parent = {o.org_code: o.parent_code for o in orgs}
    assert all(parent[c] is None or pos[parent[c]] < pos[c] for c in got)
    # a group: its ancestors and its siblings, no children
    got = {o.org_code for o in picker_orgs(orgs, "B07D05G03")}
    assert {"B", "B07", "B07D05", "B07D05G03", "B07D05G07"} <= got
    assert "B07D04G00" not in got and "B03D02G00" not in got
    # no choice (or an unknown one): the top two levels
    assert {o.org_code for o in picker_orgs(orgs, None)} == {"B", *subs}
