"""Promotion gates on the fairness report and the swap set: each passes, warns or fails.

A gate whose rule says ``warn`` never blocks ``@champion``; its tag says what it saw.
"""

from __future__ import annotations

from limitlab.config import GateRule, RegisterParams

PASS, WARN, FAIL = "pass", "warn", "fail"
Gate = tuple[str, str]  # (pass | warn | fail, why)


def _judge(rule: GateRule, missed: bool, why: str) -> Gate:
    if not missed:
        return PASS, why
    return (FAIL if rule.action == "block" else WARN), why


def _extreme(fairness: dict, key: str, lowest: bool) -> tuple[float, str] | None:
    """The lowest (or highest) value of ``key`` over the attributes, and the attribute."""
    found = [(a[key], column) for column, a in fairness.get("attributes", {}).items()
             if a.get(key) is not None]  # fmt: skip
    if not found:
        return None
    return min(found) if lowest else max(found)


def fairness_gates(rules: RegisterParams, fairness: dict) -> dict[str, Gate]:
    """Lowest adverse impact ratio, largest |SMD| of limit or PD, highest proxy AUC, each over
    every protected attribute (groups too small to judge are not counted)."""
    checks = {
        "fairness_min_air": (rules.fairness_min_air, "min_air", True, "lowest AIR", "minimum"),
        "fairness_max_smd": (rules.fairness_max_smd, "max_abs_smd", False, "largest |SMD|",
                             "maximum"),
        "fairness_max_proxy_auc": (rules.fairness_max_proxy_auc, "proxy_auc", False,
                                   "highest proxy AUC", "maximum"),
    }  # fmt: skip
    gates = {}
    for gate, (rule, key, lowest, label, bound) in checks.items():
        if rule.threshold is None:
            continue
        if not fairness.get("applicable", True):
            gates[gate] = (PASS, f"not applicable: {fairness.get('why', 'no fairness report')}")
            continue
        found = _extreme(fairness, key, lowest)
        if found is None:
            gates[gate] = (PASS, "no group large enough to judge")
            continue
        value, column = found
        missed = value < rule.threshold if lowest else value > rule.threshold
        gates[gate] = _judge(rule, missed, f"{label} {value:.3f} ({column}), {bound} "
                                           f"{rule.threshold}")  # fmt: skip
    return gates


def swap_gate(
    rules: RegisterParams, swap: dict | None, why_none: str = "no champion to compare"
) -> dict[str, Gate]:
    """Swap-ins' realised bad rate less swap-outs' at most the threshold, when both cells hold
    at least ``swap_min_cell`` applicants; ``why_none`` says why there is no swap set."""
    rule = rules.swap_max_bad_rate_excess
    if rule.threshold is None:
        return {}
    if swap is None:
        return {"swap_set": (PASS, why_none)}
    ins, outs = swap["cells"]["swap_in"], swap["cells"]["swap_out"]
    if min(ins["count"], outs["count"]) < rules.swap_min_cell:
        return {
            "swap_set": (
                PASS,
                f"too small to judge: {ins['count']} swap-ins, "
                f"{outs['count']} swap-outs (minimum {rules.swap_min_cell})",
            )
        }
    excess = swap["bad_rate_excess"]
    why = (f"swap-ins' bad rate {ins['bad_rate']:.1%} less swap-outs' {outs['bad_rate']:.1%} = "
           f"{excess:+.1%}, maximum {rule.threshold:+.1%}")  # fmt: skip
    return {"swap_set": _judge(rule, excess > rule.threshold, why)}
