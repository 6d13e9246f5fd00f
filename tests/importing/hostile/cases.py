"""The hostile cases: one small CSV each and the exact outcome (issue 19).

Every case is imported with ``zhuizong import KIND FILE --format json`` into a workspace holding
the base data of ``tests/fixtures/good`` (and the case's ``before`` files, each of which must
commit, and its ``sql``: data stored before these checks existed). The base data:

* org units ``HQ`` (root) ← ``B01``, ``B02``; ``B01`` ← ``T011``;
* agents ``A001`` (no supervisor), ``A002`` (supervisor ``A001``), ``A003`` (``A001``),
  ``A004`` (none, left 2025-12-31), ``000777`` (``A002``);
* ranks ``AG``, ``SA``, ``DM``; products ``P01``, ``P02``; premiums ``T0001``–``T0003``.

A refused case states every error as ``(row, column, words of the English reason)``: exactly those
(row, column) pairs must come back, nothing may be stored. A committed case states the counts
(inserted, updated, unchanged), stored values and table sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BASE_ROWS = {"org_units": 4, "ranks": 3, "products": 2, "agents": 5, "premiums": 3}

ORG = "org_code,org_name,parent_code\n"
AGENT = "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code\n"
RECRUIT = "agent_code,agent_name,hire_date,org_code,rank_code,recruiter_code\n"
EVENT = "agent_code,event_date,event_type,supervisor_code\n"
PREM = "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount,fyc\n"
PROD = "product_code,product_name,is_main,pay_mode,term_years,fyc_rate\n"
LOG = "agent_code,date,calls,note\n"

CYCLE = "cycle"
OWN_PARENT = "own parent"
OWN_SUP = "own supervisor"
SPACE = "space inside"
CONTROL = "control"
NEGATIVE = "must not be negative"
POSITIVE = "must be positive"

Err = tuple[int, str, str]  # row, column, words of reason_en


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # org_tree | reporting_lines | codes | names | amounts
    kind: str
    data: str | bytes
    errors: tuple[Err, ...] = ()  # refused when not empty
    counts: tuple[int, int, int] | None = None  # committed: inserted, updated, unchanged
    stored: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = ()
    rows: dict[str, int] = field(default_factory=dict)  # table sizes after a commit
    before: tuple[tuple[str, str], ...] = ()
    #: statements run on the database after the base data: a cycle stored before the checks
    sql: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.errors)


def _padded(header: str, filler: list[str], last: str) -> str:
    """``header``, enough valid rows to pass the 4 KB an encoding sniffer looks at, then ``last``
    (NUL bytes in the first 4 KB would make the file look like UTF-16)."""
    body = "".join(f"{r}\n" for r in filler)
    assert len((header + body).encode()) > 4200
    return header + body + last + "\n"


LEGACY_ORG_CYCLE = "UPDATE org_units SET parent_code = 'T011' WHERE org_code = 'HQ'"
LEGACY_LINE_CYCLE = "UPDATE agents SET supervisor_code = 'A002' WHERE agent_code = 'A001'"

#: A001's hire event names A004 as supervisor: on every date the events win over the agents row
HIRE_UNDER_A004 = ("agent_events", EVENT + "A001,2024-01-15,hire,A004\n")

NUL_PREMIUMS = _padded(
    PREM, [f"T8{i:03d},PL8{i:03d},A002,P01,2026-05-06,new,100,10" for i in range(110)],
    "T8\x00999,PL8999,A002,P01,2026-05-06,new,100,10")
NUL_NAMES = _padded(
    AGENT, [f"N{i:03d},新人{i:03d},2026-01-05,T011,AG,A002" for i in range(120)],
    "N999,张\x00伟,2026-01-05,T011,AG,A002")

CASES: tuple[Case, ...] = (
    # --- the org tree stays a forest -----------------------------------------------------------
    Case("org_root_under_descendant", "org_tree", "org_units", ORG + "HQ,总公司,T011\n",
         errors=((2, "parent_code", "B01 → HQ → T011 → B01"),)),
    Case("org_two_units_each_others_parent", "org_tree", "org_units",
         ORG + "B01,北京分公司,B02\nB02,上海分公司,B01\n",
         errors=((2, "parent_code", "B01 → B02 → B01"), (3, "parent_code", "B01 → B02 → B01"))),
    Case("org_new_unit_own_parent", "org_tree", "org_units", ORG + "B03,广州分公司,B03\n",
         errors=((2, "parent_code", OWN_PARENT),)),
    Case("org_stored_unit_own_parent", "org_tree", "org_units", ORG + "B01,北京分公司,B01\n",
         errors=((2, "parent_code", OWN_PARENT),)),
    Case("org_cycle_of_new_units", "org_tree", "org_units",
         ORG + "X1,甲,X2\nX2,乙,X3\nX3,丙,X1\n",
         errors=((2, "parent_code", "X1 → X2 → X3 → X1"), (3, "parent_code", CYCLE),
                 (4, "parent_code", CYCLE))),
    Case("org_long_cycle_through_stored_units", "org_tree", "org_units",
         ORG + "N1,一部,T011\nN2,二部,N1\nHQ,总公司,N2\n",
         errors=((2, "parent_code", "B01 → HQ → N2 → N1 → T011 → B01"), (3, "parent_code", CYCLE),
                 (4, "parent_code", CYCLE))),
    Case("org_valid_rows_and_one_cycle", "org_tree", "org_units",
         ORG + "B03,广州分公司,HQ\nB04,深圳分公司,B02\nB01,北京分公司,T011\n",
         errors=((4, "parent_code", "B01 → T011 → B01"),)),
    Case("org_unknown_parent", "org_tree", "org_units", ORG + "B03,广州分公司,B99\n",
         errors=((2, "parent_code", "unknown org_code"),)),
    Case("org_unknown_parent_and_cycle_in_one_round", "org_tree", "org_units",
         ORG + "B03,广州分公司,B99\nB01,北京分公司,T011\n",
         errors=((2, "parent_code", "unknown org_code"), (3, "parent_code", CYCLE))),
    Case("org_cycle_disguised_with_zero_width", "org_tree", "org_units",
         ORG + "B01\u200b,北京分公司,B02\nB02,上海分公司,\u2060B01\n",
         errors=((2, "parent_code", "B01 → B02 → B01"), (3, "parent_code", CYCLE))),
    Case("org_cycle_disguised_full_width", "org_tree", "org_units",
         ORG + "Ｂ０１,北京分公司,Ｔ０１１\n",
         errors=((2, "parent_code", "B01 → T011 → B01"),)),
    Case("org_two_roots_each_others_parent", "org_tree", "org_units",
         ORG + "HQ,总公司,R2\nR2,第二总部,HQ\n", before=(("org_units", ORG + "R2,第二总部,\n"),),
         errors=((2, "parent_code", "HQ → R2 → HQ"), (3, "parent_code", CYCLE))),
    Case("org_stored_cycle_blocks_other_rows", "org_tree", "org_units",
         ORG + "B03,广州分公司,HQ\n", sql=(LEGACY_ORG_CYCLE,),
         errors=((0, "parent_code", "B01 → HQ → T011 → B01 (in the stored data"),)),
    Case("org_stored_cycle_corrected", "org_tree", "org_units", ORG + "HQ,总公司,\n",
         sql=(LEGACY_ORG_CYCLE,), counts=(0, 1, 0),
         stored=(("org_units", {"org_code": "HQ"}, {"parent_code": None}),),
         rows={"org_units": 4}),
    Case("org_move_a_unit", "org_tree", "org_units", ORG + "T011,北京一部,B02\n",
         counts=(0, 1, 0), stored=(("org_units", {"org_code": "T011"}, {"parent_code": "B02"}),),
         rows={"org_units": 4}),
    Case("org_swap_is_checked_on_the_merged_tree", "org_tree", "org_units",
         ORG + "T011,北京一部,HQ\nB01,北京分公司,T011\n",
         counts=(0, 2, 0),
         stored=(("org_units", {"org_code": "B01"}, {"parent_code": "T011"}),
                 ("org_units", {"org_code": "T011"}, {"parent_code": "HQ"})),
         rows={"org_units": 4}),
    Case("org_deep_chain_children_first", "org_tree", "org_units",
         ORG + "L5,五级,L4\nL4,四级,L3\nL3,三级,L2\nL2,二级,L1\nL1,一级,HQ\n",
         counts=(5, 0, 0), stored=(("org_units", {"org_code": "L5"}, {"parent_code": "L4"}),),
         rows={"org_units": 9}),
    Case("org_file_without_parent_column_keeps_parents", "org_tree", "org_units",
         "org_code,org_name\nB01,北京分公司(新)\n",
         counts=(0, 1, 0),
         stored=(("org_units", {"org_code": "B01"},
                  {"parent_code": "HQ", "org_name": "北京分公司(新)"}),),
         rows={"org_units": 4}),
    Case("org_second_root_is_a_forest", "org_tree", "org_units", ORG + "B01,北京分公司,\n",
         counts=(0, 1, 0), stored=(("org_units", {"org_code": "B01"}, {"parent_code": None}),),
         rows={"org_units": 4}),
    # --- reporting lines stay a forest ---------------------------------------------------------
    Case("agent_own_supervisor", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,A001\n",
         errors=((2, "supervisor_code", OWN_SUP),)),
    Case("agents_each_others_supervisor", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,A002\n",
         errors=((2, "supervisor_code", "A001 → A002 → A001"),)),
    Case("agents_cycle_of_new_agents", "reporting_lines", "agents",
         AGENT + "N1,甲,2025-01-01,T011,AG,N2\nN2,乙,2025-01-01,T011,AG,N3\n"
                 "N3,丙,2025-01-01,T011,AG,N1\n",
         errors=((2, "supervisor_code", "N1 → N2 → N3 → N1"), (3, "supervisor_code", CYCLE),
                 (4, "supervisor_code", CYCLE))),
    Case("agents_cycle_through_stored_chain", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,000777\n",
         errors=((2, "supervisor_code", "000777 → A002 → A001 → 000777"),)),
    Case("agent_own_recruiter", "reporting_lines", "agents",
         RECRUIT + "A003,李娜,2025-06-01,T011,AG,A003\n",
         errors=((2, "recruiter_code", "own recruiter"),)),
    Case("agents_each_others_recruiter", "reporting_lines", "agents",
         RECRUIT + "A001,张伟,2024-01-15,T011,DM,A002\n",
         errors=((2, "recruiter_code", "A001 → A002 → A001"),)),
    Case("recruiter_cycle_of_new_agents", "reporting_lines", "agents",
         RECRUIT + "R1,甲,2025-01-01,T011,AG,R2\nR2,乙,2025-01-01,T011,AG,R1\n",
         errors=((2, "recruiter_code", "R1 → R2 → R1"), (3, "recruiter_code", CYCLE))),
    Case("recruiter_chain_is_a_forest", "reporting_lines", "agents",
         RECRUIT + "R1,甲,2025-01-01,T011,AG,A002\nR2,乙,2025-01-01,T011,AG,R1\n",
         counts=(2, 0, 0), rows={"agents": 7},
         stored=(("agents", {"agent_code": "R2"}, {"recruiter_code": "R1"}),)),
    Case("agent_own_supervisor_full_width", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,Ａ００１\n",
         errors=((2, "supervisor_code", OWN_SUP),)),
    Case("agents_valid_rows_and_one_cycle", "reporting_lines", "agents",
         AGENT + "N1,甲,2026-01-05,T011,AG,A002\nA001,张伟,2024-01-15,T011,DM,A003\n",
         errors=((3, "supervisor_code", "A001 → A003 → A001"),)),
    Case("agents_swap_is_checked_on_the_merged_lines", "reporting_lines", "agents",
         AGENT + "A002,王芳,2025-03-01,T011,SA,\nA001,张伟,2024-01-15,T011,DM,A002\n",
         counts=(0, 2, 0),
         stored=(("agents", {"agent_code": "A001"}, {"supervisor_code": "A002"}),
                 ("agents", {"agent_code": "A002"}, {"supervisor_code": None})),
         rows={"agents": 5}),
    Case("agents_stored_cycle_blocks_other_rows", "reporting_lines", "agents",
         AGENT + "N1,甲,2026-01-05,T011,AG,A003\n", sql=(LEGACY_LINE_CYCLE,),
         errors=((0, "supervisor_code", "A001 → A002 → A001 (in the stored data"),)),
    Case("agents_stored_cycle_corrected", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,\n", sql=(LEGACY_LINE_CYCLE,), counts=(0, 1, 0),
         stored=(("agents", {"agent_code": "A001"}, {"supervisor_code": None}),),
         rows={"agents": 5}),
    Case("event_makes_mutual_supervisors", "reporting_lines", "agent_events",
         EVENT + "A001,2026-03-01,transfer,A002\n",
         errors=((2, "supervisor_code", "from 2026-03-01"),)),
    Case("events_dated_apart_are_no_cycle", "reporting_lines", "agent_events",
         EVENT + "A002,2026-02-01,transfer,A004\nA001,2026-03-01,transfer,A002\n",
         counts=(2, 0, 0), rows={"agent_events": 2}),
    Case("events_overlapping_by_dates_are_a_cycle", "reporting_lines", "agent_events",
         EVENT + "A002,2026-02-01,transfer,A004\nA001,2026-01-15,transfer,A002\n",
         errors=((3, "supervisor_code", "from 2026-01-15"),)),
    # the agents rows' own supervisor_code (the current line, read undated by the scope and the
    # team board) stays a forest even where every event names another supervisor
    Case("agents_current_column_cycle_hidden_by_events", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,A002\n", before=(HIRE_UNDER_A004,),
         errors=((2, "supervisor_code", "current supervisors form a cycle"),)),
    Case("agents_current_column_own_supervisor_hidden_by_events", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,A001\n", before=(HIRE_UNDER_A004,),
         errors=((2, "supervisor_code", "own current supervisor"),)),
    Case("agents_current_column_long_cycle_hidden_by_events", "reporting_lines", "agents",
         AGENT + "A001,张伟,2024-01-15,T011,DM,000777\n", before=(HIRE_UNDER_A004,),
         errors=((2, "supervisor_code", "000777 → A002 → A001 → 000777"),)),
    Case("agents_current_column_forest_with_events", "reporting_lines", "agents",
         AGENT + "A003,李娜,2025-06-10,B02,AG,A002\n", before=(HIRE_UNDER_A004,),
         counts=(0, 1, 0), stored=(("agents", {"agent_code": "A003"}, {"supervisor_code": "A002"}),),
         rows={"agents": 5}),
    Case("event_own_supervisor", "reporting_lines", "agent_events",
         EVENT + "A003,2026-02-01,transfer,A003\n",
         errors=((2, "supervisor_code", OWN_SUP),)),
    Case("event_correction_recreates_a_cycle", "reporting_lines", "agent_events",
         EVENT + "A002,2026-02-01,transfer,A001\nA001,2026-03-01,transfer,A002\n",
         before=(("agent_events", EVENT + "A002,2026-02-01,transfer,A004\n"),),
         errors=((2, "supervisor_code", "A001 → A002 → A001"), (3, "supervisor_code", CYCLE))),
    # --- keys that look equal are equal --------------------------------------------------------
    Case("txn_id_zero_width_space_updates", "codes", "premiums",
         PREM + "T\u200b0001,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0),
         stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000, "fyc_fen": 455000}),),
         rows={"premiums": 3}),
    Case("txn_id_word_joiner_updates", "codes", "premiums",
         PREM + "T000\u20601,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0), stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000}),),
         rows={"premiums": 3}),
    Case("txn_id_soft_hyphen_updates", "codes", "premiums",
         PREM + "T\u00ad0001,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0), stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000}),),
         rows={"premiums": 3}),
    Case("txn_id_zwnj_zwj_bom_unchanged", "codes", "premiums",
         PREM + "\ufeffT\u200c00\u200d01,PL0001,A002,P01,2026-01-05,new,12000.00,4200.00\n",
         counts=(0, 0, 1), rows={"premiums": 3}),
    Case("txn_id_full_width_updates", "codes", "premiums",
         PREM + "Ｔ０００１,ＰＬ０００１,Ａ００２,Ｐ０１,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0), stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000}),),
         rows={"premiums": 3}),
    Case("txn_id_outer_nbsp_ideographic_space", "codes", "premiums",
         PREM + "\u00a0T0001\u3000,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0), stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000}),),
         rows={"premiums": 3}),
    Case("txn_id_variation_selector_and_cgj", "codes", "premiums",
         PREM + "T0\ufe0f001\u034f,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         counts=(0, 1, 0), stored=(("premiums", {"txn_id": "T0001"}, {"amount_fen": 1300000}),),
         rows={"premiums": 3}),
    Case("invisible_characters_in_every_folded_column", "codes", "premiums",
         PREM + "T9001,PL\u200b9001,A00\u20602,P\u00ad01,2026-05-0\u200b6,new\u200b,"
                "1\u200b000,3\u206050\n",
         counts=(1, 0, 0),
         stored=(("premiums", {"txn_id": "T9001"},
                  {"policy_no": "PL9001", "agent_code": "A002", "product_code": "P01",
                   "txn_date": "2026-05-06", "txn_type": "new", "amount_fen": 100000,
                   "fyc_fen": 35000}),),
         rows={"premiums": 4}),
    Case("txn_id_inner_space", "codes", "premiums",
         PREM + "T 0001,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         errors=((2, "txn_id", SPACE),)),
    Case("txn_id_inner_ideographic_space", "codes", "premiums",
         PREM + "T\u30000001,PL0001,A002,P01,2026-01-05,new,13000.00,4550.00\n",
         errors=((2, "txn_id", SPACE),)),
    Case("policy_no_inner_tab", "codes", "premiums",
         PREM + "T9001,PL\t9001,A002,P01,2026-05-06,new,1000,350\n",
         errors=((2, "policy_no", CONTROL),)),  # TAB is white space and a control character
    Case("txn_id_control_character", "codes", "premiums",
         PREM + "T9\x07001,PL9001,A002,P01,2026-05-06,new,1000,350\n",
         errors=((2, "txn_id", CONTROL),)),
    Case("txn_id_nul_after_4k", "codes", "premiums", NUL_PREMIUMS,
         errors=((112, "txn_id", CONTROL),)),
    Case("agent_code_private_use_character", "codes", "premiums",
         PREM + "T9001,PL9001,A\ue000002,P01,2026-05-06,new,1000,350\n",
         errors=((2, "agent_code", CONTROL),)),
    Case("duplicate_keys_differing_by_invisibles", "codes", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,350\n"
                "T9001\u200b,PL9002,A002,P01,2026-05-07,new,2000,700\n",
         errors=((3, "txn_id", "duplicate key"),)),
    Case("txn_id_only_invisible_characters", "codes", "premiums",
         PREM + "\u200b\u2060,PL9001,A002,P01,2026-05-06,new,1000,350\n",
         errors=((2, "txn_id", "missing"),)),
    Case("org_code_zero_width_stored_clean", "codes", "org_units", ORG + "B0\u200b9,杭州分公司,HQ\n",
         counts=(1, 0, 0), stored=(("org_units", {"org_code": "B09"}, {"parent_code": "HQ"}),),
         rows={"org_units": 5}),
    Case("agent_references_normalised", "codes", "agents",
         AGENT + "A501,新人,2026-01-05,Ｔ０１１,A\u00adG,A\u200b002\n",
         counts=(1, 0, 0),
         stored=(("agents", {"agent_code": "A501"},
                  {"org_code": "T011", "rank_code": "AG", "supervisor_code": "A002"}),),
         rows={"agents": 6}),
    Case("agent_code_zero_width_same_agent", "codes", "agents",
         AGENT + "A\u200b001,张伟,2024-01-15,T011,DM,\n",
         counts=(0, 0, 1), rows={"agents": 5}),
    Case("org_code_reference_inner_space", "codes", "agents",
         AGENT + "A501,新人,2026-01-05,T 011,AG,\n",
         errors=((2, "org_code", SPACE),)),
    # --- names -------------------------------------------------------------------------------
    Case("agent_name_escape_character", "names", "agents",
         AGENT + "A501,张\x1b伟,2026-01-05,T011,AG,\n",
         errors=((2, "agent_name", CONTROL),)),
    Case("agent_name_nul_after_4k", "names", "agents", NUL_NAMES,
         errors=((122, "agent_name", CONTROL),)),
    Case("agent_name_line_break", "names", "agents",
         AGENT + 'A501,"张\n伟",2026-01-05,T011,AG,\n',
         errors=((2, "agent_name", CONTROL),)),
    Case("product_name_delete_character", "names", "products",
         PROD + "P03,安康\x7f意外险,0,single,1,0.2\n",
         errors=((2, "product_name", CONTROL),)),
    Case("product_name_c1_control", "names", "products",
         PROD + "P03,安康\x85意外险,0,single,1,0.2\n",
         errors=((2, "product_name", CONTROL),)),
    Case("work_log_note_tab_and_line_break_kept", "names", "work_logs",
         LOG + 'A002,2026-05-06,12,"上午\t拜访\n下午回访"\n',
         counts=(1, 0, 0),
         stored=(("work_logs", {"agent_code": "A002", "date": "2026-05-06"},
                  {"calls": 12, "note": "上午\t拜访\n下午回访"}),),
         rows={"work_logs": 1}),
    Case("work_log_note_bell", "names", "work_logs", LOG + "A002,2026-05-06,12,上午\x07拜访\n",
         errors=((2, "note", CONTROL),)),
    Case("org_name_bom_and_zero_width_trimmed", "names", "org_units",
         ORG + "B05,\ufeff\u200b武汉分公司\u200b,HQ\n",
         counts=(1, 0, 0), stored=(("org_units", {"org_code": "B05"}, {"org_name": "武汉分公司"}),),
         rows={"org_units": 5}),
    # --- amounts and signs by contract ----------------------------------------------------------
    Case("fyc_negative", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,-350\n",
         errors=((2, "fyc", NEGATIVE),)),
    Case("fyc_negative_full_width_minus", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,－350\n",
         errors=((2, "fyc", NEGATIVE),)),
    Case("fyc_negative_on_a_cancellation", "amounts", "premiums",
         PREM + "T9001,PL0001,A002,P01,2026-05-06,free_look_cancel,12000,-4200\n",
         errors=((2, "fyc", NEGATIVE),)),
    Case("fyc_unicode_minus_sign", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,\u2212350\n",
         errors=((2, "fyc", "amount must be a number"),)),
    Case("fyc_negative_among_valid_rows", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,350\n"
                "T9002,PL9002,A002,P01,2026-05-06,new,1000,-350\n"
                "T9003,PL9003,A002,P01,2026-05-06,new,1000,350\n",
         errors=((3, "fyc", NEGATIVE),)),
    Case("fyc_zero_accepted", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P02,2026-05-06,new,1000,0\n",
         counts=(1, 0, 0), stored=(("premiums", {"txn_id": "T9001"}, {"fyc_fen": 0}),),
         rows={"premiums": 4}),
    Case("cancellation_amounts_stay_positive", "amounts", "premiums",
         PREM + "T9001,PL0001,A002,P01,2026-05-06,free_look_cancel,12000,4200\n",
         counts=(1, 0, 0),
         stored=(("premiums", {"txn_id": "T9001"},
                  {"amount_fen": 1200000, "fyc_fen": 420000, "txn_type": "free_look_cancel"}),),
         rows={"premiums": 4}),
    Case("amount_negative", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,surrender,-1000,350\n",
         errors=((2, "amount", POSITIVE),)),
    Case("amount_zero", "amounts", "premiums",
         PREM + "T9001,PL9001,A002,P01,2026-05-06,new,0,0\n",
         errors=((2, "amount", POSITIVE),)),
    Case("policy_year_zero", "amounts", "premiums",
         "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount,policy_year\n"
         "T9001,PL9001,A002,P01,2026-05-06,new,1000,0\n",
         errors=((2, "policy_year", POSITIVE),)),
    Case("fyc_rate_negative", "amounts", "products", PROD + "P03,安康意外险,0,single,1,-0.2\n",
         errors=((2, "fyc_rate", NEGATIVE),)),
    Case("term_years_negative", "amounts", "products", PROD + "P03,安康意外险,0,single,-1,0.2\n",
         errors=((2, "term_years", NEGATIVE),)),
    Case("plan_target_negative", "amounts", "plans",
         "org_code,period,metric,target\nHQ,2026-05,fyp,-1\n",
         errors=((2, "target", NEGATIVE),)),
    Case("work_log_calls_negative", "amounts", "work_logs", LOG + "A002,2026-05-06,-3,\n",
         errors=((2, "calls", NEGATIVE),)),
)

GROUPS = ("org_tree", "reporting_lines", "codes", "names", "amounts")
