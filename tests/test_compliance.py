"""Swap sets, fairness and swap-set gates, the registry's copy of the model card, adverse-action
notices and the reason catalogue, on small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from limitlab.config import GateRule, RegisterParams
from limitlab.evaluation.swap import swap_cells, swap_line, swap_set
from limitlab.limits.notices import notices
from limitlab.limits.reasons import reason_catalogue
from limitlab.tracking.gates import fairness_gates, swap_gate
from limitlab.tracking.model_card import SECTIONS
from limitlab.tracking.register import registry_text

from .test_knockouts import RULES, policy_with

# Ten applicants: old and new limits, outcomes. Cells by hand:
# swap-in rows 0, 1 (bad 1 of 2); swap-out rows 2, 3, 4 (bad 0 of 3); both declined row 5;
# limit up rows 6, 7 (new 1500 > 1000); limit down row 8; same row 9.
OLD = np.array([0, 0, 500, 1000, 250, 0, 1000, 1000, 2000, 750], float)
NEW = np.array([500, 250, 0, 0, 0, 0, 1500, 1500, 1000, 750], float)
Y = np.array([1, 0, 0, 0, 0, 1, 1, 0, 0, 1])


def test_swap_cells_by_hand() -> None:
    cells = {k: np.flatnonzero(v).tolist() for k, v in swap_cells(Y, NEW, OLD).items()}
    assert cells == {"swap_in": [0, 1], "swap_out": [2, 3, 4], "both_declined": [5],
                     "limit_up": [6, 7], "limit_down": [8], "limit_same": [9]}  # fmt: skip
    found = swap_set(Y, NEW, OLD)
    c = found["cells"]
    assert (c["swap_in"]["count"], c["swap_in"]["bad_rate"]) == (2, 0.5)
    assert (c["swap_out"]["count"], c["swap_out"]["bad_rate"]) == (3, 0.0)
    assert c["swap_in"]["exposure_new"] == 750 and c["swap_out"]["exposure_old"] == 1750
    assert c["limit_up"]["exposure_new"] - c["limit_up"]["exposure_old"] == 1000
    assert found["exposure_change"] == NEW.sum() - OLD.sum() == -1000
    assert found["bad_rate_excess"] == 0.5
    assert sum(cell["count"] for cell in c.values()) == len(Y)
    assert swap_line(found).startswith("swap-ins 2 (bad rate 50.0%), swap-outs 3 (bad rate 0.0%)")


def test_an_empty_cell_has_no_bad_rate_and_lengths_must_agree() -> None:
    found = swap_set(Y, OLD, OLD)
    assert found["cells"]["swap_in"] == {"count": 0, "bad_rate": None, "exposure_new": 0.0,
                                         "exposure_old": 0.0}  # fmt: skip
    assert found["bad_rate_excess"] is None and found["exposure_change"] == 0
    with pytest.raises(ValueError, match="10 outcomes, 9 new and 10 old limits"):
        swap_cells(Y, NEW[:-1], OLD)


def rules(**update) -> RegisterParams:
    return RegisterParams().model_copy(update=update)


@pytest.mark.parametrize(
    ("action", "min_cell", "status", "why"),
    [
        ("warn", 2, "warn",
         "swap-ins' bad rate 50.0% less swap-outs' 0.0% = +50.0%, maximum +5.0%"),
        ("block", 2, "fail", "swap-ins' bad rate 50.0%"),
        ("block", 3, "pass", "too small to judge: 2 swap-ins, 3 swap-outs (minimum 3)"),
    ],
)  # fmt: skip
def test_swap_gate_blocks_warns_or_cannot_judge(action, min_cell, status, why) -> None:
    gate = rules(swap_max_bad_rate_excess=GateRule(threshold=0.05, action=action),
                 swap_min_cell=min_cell)  # fmt: skip
    found_status, found_why = swap_gate(gate, swap_set(Y, NEW, OLD))["swap_set"]
    assert found_status == status and found_why.startswith(why)
    assert swap_gate(gate, None) == {"swap_set": ("pass", "no champion to compare")}
    off = rules(swap_max_bad_rate_excess=GateRule(threshold=None, action="block"))
    assert swap_gate(off, swap_set(Y, NEW, OLD)) == {}


FAIRNESS = {"attributes": {
    "Age": {"min_air": 0.72, "max_abs_smd": 0.31, "proxy_auc": 0.66},
    "Sex": {"min_air": 0.91, "max_abs_smd": 0.12, "proxy_auc": 0.81},
    "Tiny": {"min_air": None, "max_abs_smd": None, "proxy_auc": None},
}}  # fmt: skip


def test_fairness_gates_take_the_worst_attribute_and_their_action() -> None:
    gates = fairness_gates(
        rules(fairness_min_air=GateRule(threshold=0.8, action="block"),
              fairness_max_smd=GateRule(threshold=0.5, action="block"),
              fairness_max_proxy_auc=GateRule(threshold=0.75, action="warn")),
        FAIRNESS,
    )  # fmt: skip
    assert gates == {
        "fairness_min_air": ("fail", "lowest AIR 0.720 (Age), minimum 0.8"),
        "fairness_max_smd": ("pass", "largest |SMD| 0.310 (Age), maximum 0.5"),
        "fairness_max_proxy_auc": ("warn", "highest proxy AUC 0.810 (Sex), maximum 0.75"),
    }


def test_fairness_gates_without_a_judgeable_group_or_report_pass_and_say_why() -> None:
    only_small = {"attributes": {"Tiny": FAIRNESS["attributes"]["Tiny"]}}
    gate = rules(fairness_min_air=GateRule(threshold=0.8, action="block"))
    assert fairness_gates(gate, only_small)["fairness_min_air"] == (
        "pass", "no group large enough to judge")  # fmt: skip
    absent = {"applicable": False, "why": "no protected attribute declared (data.protected)"}
    assert fairness_gates(gate, absent)["fairness_min_air"] == (
        "pass", "not applicable: no protected attribute declared (data.protected)")  # fmt: skip


def card(lines_per_section: int) -> str:
    body = ["# m v1: model card", ""]
    for section in SECTIONS:
        body += [f"## {section}", "", *(f"- {section} line {i} " + "x" * 60
                                        for i in range(lines_per_section)), ""]  # fmt: skip
    return "\n".join(body)


def test_registry_text_keeps_a_short_card_whole_and_every_heading_of_a_long_one() -> None:
    short = card(2)
    assert registry_text(short) == short
    long = card(12)
    assert len(long) > 5000
    shown = registry_text(long)
    assert len(shown) <= 5000
    for section in SECTIONS:
        assert f"## {section}\n\n- {section} line 0" in shown
    assert "the whole card is the run's artifact model_card.md" in shown


def test_notices_go_to_declines_and_approvals_below_the_request() -> None:
    decisions = pd.DataFrame({
        "_row": [1, 2, 3, 4, 5],
        "decision": ["decline", "approve", "approve", "policy_decline", "approve"],
        "limit": [0.0, 500.0, 1000.0, 0.0, 750.0],
        "binding_cap": ["pd_above_cutoff", "grade", "affordability", "knockout", "affordability"],
        "reason_1": ["Risk", "Grade", "Afford", "Too young", "Afford"],
        "reason_2": ["Debt", "", "Assets", "", ""],
        "reason_3": ["", "", "", "", ""], "reason_4": ["", "", "", "", ""],
    })  # fmt: skip
    requested = pd.Series([1000.0, 1000.0, 1000.0, 300.0, np.nan])
    out = notices(decisions, requested, ["_row"])
    # row 3 got what it asked for; row 5 has no request, and affordability cut its limit
    assert out["_row"].tolist() == [1, 2, 4, 5]
    assert out["notice"].tolist() == ["decline", "counter-offer", "decline", "counter-offer"]
    assert out.loc[0, ["reason_1", "reason_2"]].tolist() == ["Risk", "Debt"]
    assert out["reason_3"].isna().all()
    assert out["requested"].tolist()[:3] == [1000.0, 1000.0, 300.0]
    without = notices(decisions)  # no requested amount: the cap decides
    assert without["notice"].tolist() == ["decline", "counter-offer", "decline", "counter-offer"]
    assert "requested" not in without.columns


def test_reason_catalogue_names_every_cap_rule_and_feature_once() -> None:
    policy = policy_with(RULES)
    found = pd.DataFrame(reason_catalogue(policy, ["age", "debt", "debt"]))
    assert found["code"].is_unique
    assert {"cap.affordability", "knockout.minimum_age", "feature.debt"} <= set(found["code"])
    assert found.set_index("code").loc["knockout.flagged", "text"] == "Flagged"
    assert set(found["kind"]) == {"cap", "knockout", "feature"}
