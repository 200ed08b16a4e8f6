"""The model card of a registered version: Markdown generated from the pipeline's reports.

Sections follow SR 11-7 (documentation, validation, ongoing monitoring) and model-card practice;
it is the version's description in the MLflow registry, an artifact of the run, and
``reports/model_card.md``.
"""

from __future__ import annotations

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.specs import DatasetSpec
from limitlab.evaluation.fairness import attribute_figures
from limitlab.evaluation.swap import CELLS
from limitlab.io import read_json
from limitlab.limits.knockouts import knockout_text
from limitlab.limits.policy import Policy

SECTIONS = ("Intended use", "Out of scope", "Data", "Features", "Tuning", "Performance",
            "Calibration", "Stability", "Fairness", "Limit policy", "Gates", "Swap set",
            "Known limitations", "Lineage")  # fmt: skip
OUT_OF_SCOPE = (
    "populations, products or currencies other than those of the training data and the policy; "
    "existing-customer limit reviews unless trained on behavioural data; any decision that uses "
    "a protected attribute; marketing, employment, insurance or tenancy decisions; "
    "jurisdictions whose caps are not a profile in `limits.regulations`"
)


def _metrics(stage: str) -> dict:
    path = paths.metrics_path(stage)
    return read_json(path) if path.is_file() else {}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _data(spec: DatasetSpec) -> list[str]:
    ingest, split = _metrics("ingest"), _metrics("split")
    lines = [
        f"- source `{spec.path}` (data set `{spec.name}`), sha256 `{ingest['sha256']}`",
        f"- rows read {ingest['rows_read']:,}, kept {ingest['rows_kept']:,}, quarantined "
        f"{ingest['rows_quarantined']:,}; bad rate {ingest['bad_rate']:.1%} "
        f"(target `{spec.target}` = {spec.bad_value!r})",
        "- split " + ", ".join(f"{p} {split[p]['rows']:,} (bad {split[p]['bad_rate']:.1%})"
                               for p in ("train", "valid", "test")),
    ]  # fmt: skip
    lines[-1] += ", out of time (by date)" if split["by"] == "date" else ", stratified"
    if spec.date:
        dates = pd.to_datetime(pd.read_parquet(paths.ACCEPTED, columns=[spec.date])[spec.date])
        lines.append(f"- period {dates.min().date()} to {dates.max().date()} (`{spec.date}`)")
    return lines


def _features(spec: DatasetSpec) -> list[str]:
    monotone = ", ".join(f"`{c}` {'+' if s > 0 else '-'}" for c, s in spec.monotone.items())
    return [
        f"- {len(spec.features)} raw inputs: " + ", ".join(f"`{c}`" for c in spec.features),
        f"- monotone constraints (PD rises +, falls -): {monotone or 'none'}",
        "- protected attributes excluded from the features (kept for the fairness report): "
        + (", ".join(f"`{c}`" for c in spec.protected) or "none declared"),
        *([f"- excluded by params: {', '.join(spec.exclude)}"] if spec.exclude else []),
    ]


def _shown(settings: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in settings.items())  # fmt: skip


def _tuning() -> list[str]:
    best, tune = read_json(paths.BEST_PARAMS), _metrics("tune")
    lines = [
        f"- XGBoost, Optuna study `{best['study_name']}`: {tune.get('n_trials_complete', 0)} "
        f"complete, {tune.get('n_trials_pruned', 0)} pruned, {tune.get('n_trials_failed', 0)} "
        f"failed; best validation AUC {best['best_valid_auc']:.4f}; {_shown(best['params'])}; "
        f"{best.get('n_estimators', '-')} trees",
    ]
    additive = read_json(paths.ADDITIVE_BEST_PARAMS)
    if additive.get("tuned"):
        lines.append(f"- additive (one column per tree), study `{additive['study_name']}`: "
                     f"best validation AUC {additive['best_valid_auc']:.4f}; "
                     f"{_shown(additive['params'])}; {additive['n_estimators']} trees")  # fmt: skip
    for family, result in read_json(paths.LINEAR_BEST_PARAMS).items():
        if not result.get("tuned"):
            lines.append(f"- {family}: fixed settings from `train` (not tuned)")
            continue
        lines.append(f"- {family}, study `{result['study_name']}`: "
                     f"{result['n_trials_complete']} trials; best validation log loss "
                     f"{result['best_valid_log_loss']:.4f} (AUC {result['best_valid_auc']:.4f}); "
                     f"uses the {result['chosen']}: {_shown(result['params'])}")  # fmt: skip
    return lines


def _performance(evaluate: dict) -> list[str]:
    rows = ["| family | test AUC [95% CI] | KS | Brier | ECE | Spiegelhalter p |",
            "|---|---|---|---|---|---|"]  # fmt: skip

    def spiegelhalter(m: dict) -> str:
        found = m.get("calibration", {}).get("spiegelhalter_p")
        return "-" if found is None else f"{found:.3f}"

    for family, m in evaluate["models"].items():
        ci = (f" [{m['auc_ci95_low']:.3f}, {m['auc_ci95_high']:.3f}]"
              if "auc_ci95_low" in m else "")  # fmt: skip
        rows.append(f"| {family} | {m['auc']:.3f}{ci} | {m['ks']:.3f} | {m['brier']:.4f} | "
                    f"{m['ece']:.4f} | {spiegelhalter(m)} |")  # fmt: skip
    e = evaluate
    rows.append(
        f"| **{e['champion']}, calibrated (champion)** | {e['auc']:.3f} [{e['auc_ci95_low']:.3f}, "
        f"{e['auc_ci95_high']:.3f}] | {e['ks']:.3f} | {e['brier']:.4f} | {e['ece']:.4f} | "
        f"{spiegelhalter({'calibration': e['calibration']['after']})} |"
    )
    lines = [f"Test split, {e['n']:,} applicants, bad rate {e['bad_rate']:.1%}."]
    selection = _metrics("train").get("selection")
    if selection:
        oof = ", ".join(f"{f} {v[selection['metric']]:.3f}"
                        for f, v in selection["families"].items())  # fmt: skip
        lines.append(
            f"Champion chosen on out-of-fold {selection['metric']} of the train split ({oof}): "
            f"{selection['chosen']}, {selection['why']}."
        )
    trained = _metrics("train")
    if "final_fit" in trained:
        lines.append(f"Final models fitted on {trained['final_fit'].replace('_', ' ')} "
                     f"({trained['final_fit_rows']:,} rows).")  # fmt: skip
    return [*lines, "", *rows]


def _calibration(evaluate: dict) -> list[str]:
    c = evaluate["calibration"]
    fitted_on = _metrics("train")["calibrated_on"]

    def line(name: str, m: dict) -> str:
        tail = (f", in the large {m['in_the_large']:+.4f}, Spiegelhalter p "
                f"{m['spiegelhalter_p']:.3f}" if "spiegelhalter_p" in m else "")  # fmt: skip
        return (f"- {name}: ECE {m['ece']:.4f}, Brier {m['brier']:.4f}, slope {m['slope']:.3f}, "
                f"intercept {m['intercept']:+.3f}{tail}")  # fmt: skip

    return [f"- method {c['method']} (fitted on {fitted_on})",
            line("before", c["before"]), line("after", c["after"])]  # fmt: skip


def _stability(evaluate: dict) -> list[str]:
    lines = [f"- PSI of the PD, train against test: {evaluate['psi_train_test']:.3f}"]
    if monitor := _metrics("monitor"):
        lines.append(
            f"- monitor: score PSI {monitor['psi_score']:.3f}, {monitor['features_shifted']} "
            f"feature(s) shifted, grades off their PD: "
            f"{', '.join(monitor['grades_failing_binomial']) or 'none'}"
        )
    return lines


def _fairness(params: Params) -> list[str]:
    found = _metrics("fairness")
    if not found:
        return ["- no fairness report"]
    if not found.get("applicable", True):
        return [f"- {found['why']}"]
    f = params.fairness
    thresholds = (
        f"Thresholds: AIR < {f.air_threshold}, |SMD| > {f.smd_threshold}, proxy AUC >= "
        f"{f.proxy_auc_threshold}; groups under {f.min_group_size} not judged."
    )
    lines = [thresholds, ""]
    for column, a in found["attributes"].items():
        flags = [*(f"AIR {g}" for g in a["air_flagged"]), *(f"SMD {g}" for g in a["smd_flagged"])]
        flags += ["proxy"] if a["proxy_flagged"] else []
        shown = attribute_figures(a)
        lines.append(
            f"- `{column}`: reference {a['reference']}, lowest AIR {shown['air']}, largest |SMD| "
            f"{shown['smd']}, proxy AUC {shown['proxy']}; flags: {', '.join(flags) or 'none'}"
            + shown["too_small"]
        )
    return lines


def _policy() -> list[str]:
    policy = Policy.from_json(paths.POLICY)
    p, limits = policy.params, _metrics("limits")
    grades = ", ".join(f"{g.name} <= {g.max_pd:.0%} ({g.max_share:.0%})" for g in p.grades)
    products = "; ".join(f"{n} {q.min_limit:,.0f}-{q.max_limit:,.0f} in {len(q.ladder)} bands"
                         for n, q in p.products.items())  # fmt: skip
    regulation = p.regulations[p.regulation].model_dump(exclude_none=True)
    fired = limits.get("knockouts", {})
    rules = "; ".join(f"{r.name} (`{r.column}` {r.op} {_value(r.value)}): {fired.get(r.name, 0)} "
                      "declined" for r in p.knockouts)  # fmt: skip
    a = p.affordability
    return [
        f"- grades (max PD, share of the product maximum): {grades}; above "
        f"{p.grades[-1].max_pd:.0%} declined",
        f"- products: {products}; scored as `{p.product_column or p.product}`",
        f"- affordability: debt service at most {a.max_debt_service_ratio:.0%} of income; missing "
        f"income: {a.missing_income}",
        f"- regulation profile `{p.regulation}` {regulation or '(no cap)'}",
        f"- segments: {', '.join(s.name for s in p.segments) or 'none'}"
        + (
            f"; not applied: {', '.join(policy.skipped_segments)}"
            if policy.skipped_segments
            else ""
        ),
        f"- knock-out rules: {rules or 'none'}"
        + (
            f"; not applied: {', '.join(policy.skipped_knockouts)}"
            if policy.skipped_knockouts
            else ""
        ),
        f"- on the test split: approval {limits['approval_rate']:.1%}, total limit "
        f"{limits['total_limit']:,.0f}, EL {limits['expected_loss']:,.0f}, expected profit "
        f"{limits['expected_profit']:,.0f}",
    ]


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else knockout_text(value)


def _gates(result: dict) -> list[str]:
    rows = ["| gate | result | detail |", "|---|---|---|"]
    for gate, g in result["gates"].items():
        rows.append(f"| {gate} | {g['status']} | {g['why'].replace('|', chr(92) + '|')} |")
    verdict = "promoted to @champion" if result["promoted"] else "@challenger only"
    return [f"Outcome: {verdict}.", "", *rows]


def _swap(result: dict) -> list[str]:
    swap = result.get("swap_set")
    if not swap:
        return ["No champion to compare with: this version is the first."]
    rows = ["| cell | count | bad rate | exposure new | exposure old |", "|---|---|---|---|---|"]
    for cell in CELLS:
        c = swap["cells"][cell]
        rows.append(f"| {cell.replace('_', ' ')} | {c['count']:,} | {_pct(c['bad_rate'])} | "
                    f"{c['exposure_new']:,.0f} | {c['exposure_old']:,.0f} |")  # fmt: skip
    return [
        f"Against champion v{swap['champion_version']} on the same {swap['applicants']:,} test "
        f"applicants; total exposure {swap['exposure_change']:+,.0f}.",
        "",
        *rows,
    ]


def _limitations(evaluate: dict, params: Params) -> list[str]:
    lines = [
        "- trained on past accepted applicants only: outcomes of declined applicants are "
        "unknown (no reject inference)",
        f"- figures are measured on {evaluate['n']:,} test applicants; the AUC interval above "
        "is their sampling error",
    ]
    fairness = _metrics("fairness").get("attributes", {})
    if small := [c for c, a in fairness.items() if a["too_small"]]:
        lines.append(f"- groups too small to judge fairness in {', '.join(small)} (see Fairness)")
    if proxied := [c for c, a in fairness.items() if a["proxy_flagged"]]:
        lines.append(f"- the features predict {', '.join(proxied)}: excluding a protected "
                     "attribute does not remove its information")  # fmt: skip
    limits = _metrics("limits")
    if limits.get("expected_profit", 0) < 0:
        lines.append(f"- the configured policy expects a loss ({limits['expected_profit']:,.0f}) "
                     "on the test applicants; see the optimised caps")  # fmt: skip
    if (monitor := _metrics("monitor")).get("grades_failing_binomial"):
        lines.append("- grades whose realised default rate differs from their PD: "
                     + ", ".join(monitor["grades_failing_binomial"]))  # fmt: skip
    return lines


def _lineage(result: dict, tags: dict[str, str]) -> list[str]:
    return [
        f"- run `{result['run_id']}` (`{result['run_name']}`), model `{result['registered_uri']}`",
        f"- git commit `{tags.get('mlflow.source.git.commit', 'unknown')}`"
        + (" (uncommitted changes)" if tags.get("git.dirty") == "true" else ""),
        f"- DVC experiment `{tags.get('dvc.experiment', 'none')}`; params digest "
        f"`{result['run_name'].rsplit('-', 1)[-1]}`",
    ]


def model_card(params: Params, result: dict, tags: dict[str, str]) -> str:
    """The card in Markdown, one ``##`` heading per section of :data:`SECTIONS`."""
    spec = DatasetSpec.from_json(paths.SPEC)
    evaluate = _metrics("evaluate")
    r = params.registry
    body = {
        "Intended use": [
            f"{r.intended_use}. Users: credit-risk analysts, model validators and the lender's "
            f"decision systems. Owner: {r.owner}."
        ],
        "Out of scope": [f"Not for {OUT_OF_SCOPE}."],
        "Data": _data(spec),
        "Features": _features(spec),
        "Tuning": _tuning(),
        "Performance": _performance(evaluate),
        "Calibration": _calibration(evaluate),
        "Stability": _stability(evaluate),
        "Fairness": _fairness(params),
        "Limit policy": _policy(),
        "Gates": _gates(result),
        "Swap set": _swap(result),
        "Known limitations": _limitations(evaluate, params),
        "Lineage": _lineage(result, tags),
    }
    lines = [f"# {result['model_name']} v{result['model_version']}: model card", ""]
    for section in SECTIONS:
        lines += [f"## {section}", "", *body[section], ""]
    return "\n".join(lines)
