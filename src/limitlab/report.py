"""The short summary printed after ``make repro``."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from limitlab import paths
from limitlab.config import Params
from limitlab.data.ingest import check_quarantine_share, ingest
from limitlab.data.specs import resolve_spec
from limitlab.evaluation.fairness import attribute_figures
from limitlab.evaluation.swap import swap_line
from limitlab.io import read_json, write_json
from limitlab.models.cross_validation import cross_validate
from limitlab.tracking.store import tracking_uri


def summary_text() -> str:
    """Dataset, rows kept and quarantined, test metrics, band table, and where to look next."""
    ingest = read_json(paths.metrics_path("ingest"))
    evaluate = read_json(paths.metrics_path("evaluate"))
    limits = read_json(paths.metrics_path("limits"))
    bands = pd.DataFrame(read_json(paths.PLOTS / "band_table.json"))
    opt = limits["optimised"]
    registered = read_json(paths.REGISTERED) if paths.REGISTERED.is_file() else {}
    cols = ["grade", "pd_from", "pd_to", "count", "mean_pd", "bad_rate", "approved", "total_limit",
            "expected_loss", "expected_profit"]  # fmt: skip
    money = {c: (lambda v: "-" if pd.isna(v) else f"{v:,.0f}")
             for c in ("total_limit", "expected_loss", "expected_profit")}  # fmt: skip
    table = bands[cols].to_string(
        index=False, float_format=lambda v: f"{v:,.3f}", formatters=money, na_rep="-"
    )
    lines = [
        f"dataset     {ingest['dataset']} ({ingest['path']}, sha256 {ingest['sha256'][:12]})",
        f"rows        read {ingest['rows_read']:,}  used {ingest['rows_kept']:,}  "
        f"quarantined {ingest['rows_quarantined']:,} (see {paths.QUARANTINE})"
        + _negatives_note(ingest.get("negative_values_kept") or {}),
        f"champion    {evaluate['champion']} ({evaluate['calibration']['method']} calibration)  "
        f"test AUC {evaluate['auc']:.3f} [95% CI {evaluate['auc_ci95_low']:.3f}, "
        f"{evaluate['auc_ci95_high']:.3f}]  Gini {evaluate['gini']:.3f}  KS {evaluate['ks']:.3f}  "
        f"Brier {evaluate['brier']:.4f}  ECE {evaluate['ece']:.4f}  "
        f"PSI train/test {evaluate['psi_train_test']:.3f}",
    ]
    width = max((len(f) for f in evaluate["models"]), default=0)
    for family, m in evaluate["models"].items():
        lines.append(
            f"  {family:<{width}}  test AUC {m['auc']:.3f}  KS {m['ks']:.3f}  "
            f"Brier {m['brier']:.4f}  ECE {m['ece']:.4f}  (uncalibrated)"
        )
    lines += [
        f"limits      product {limits['product']}, regulation {limits['regulation']}: "
        f"{limits['applicants']:,} test applicants, approval rate {limits['approval_rate']:.1%}, "
        f"total limit {limits['total_limit']:,.0f}, EL {limits['expected_loss']:,.0f}, "
        f"expected profit {limits['expected_profit']:,.0f}",
        f"optimised   approval rate {opt['approval_rate']:.1%}, total limit "
        f"{opt['total_limit']:,.0f}, EL {opt['expected_loss']:,.0f}, expected profit "
        f"{opt['expected_profit']:,.0f} (see {paths.LIMITS / 'optimised_caps.json'})",
        *_knockout_lines(limits),
        *_loss_warning(limits),
        *_monitor_lines(),
        *_fairness_lines(),
        "",
        "band table (test split):",
        table,
        "",
    ]
    if registered:
        alias = "@champion and @challenger" if registered["promoted"] else "@challenger only"
        failed = [g for g, r in registered["gates"].items() if not r["passed"]]
        warned = [g for g, r in registered["gates"].items() if r.get("status") == "warn"]
        lines.append(
            f"MLflow      run {registered['run_id']}  model {registered['registered_uri']} "
            f"({alias}{'; failed gates: ' + ', '.join(failed) if failed else ''}"
            f"{'; warnings: ' + ', '.join(warned) if warned else ''})"
        )
        if registered.get("swap_set"):
            lines.append(f"swap set    vs v{registered['swap_set']['champion_version']}: "
                         f"{swap_line(registered['swap_set'])}")  # fmt: skip
        if paths.MODEL_CARD.is_file():
            lines.append(f"model card  {paths.MODEL_CARD} (the version's description in MLflow)")
    lines.append(f"store       {tracking_uri()}")
    lines.append("open the UI: make ui   (then http://127.0.0.1:5000)")
    return "\n".join(lines)


def _knockout_lines(limits: dict) -> list[str]:
    """Knock-out declines per rule, and the rules not applied (their column is not in the data)."""
    counts, skipped = limits.get("knockouts", {}), limits.get("knockouts_not_applied", [])
    if not counts and not skipped:
        return []
    fired = ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "none applied"
    return [
        f"knock-outs  {limits['policy_declined']:,} policy declines before the model ({fired})"
        + (f"; not applied (column not in the data): {', '.join(skipped)}" if skipped else "")
    ]


def _loss_warning(limits: dict) -> list[str]:
    """A line when the configured policy is expected to lose money on the test applicants."""
    profit, optimised = limits["expected_profit"], limits["optimised"]["expected_profit"]
    if profit >= 0:
        return []
    return [
        f"note        the configured policy loses money on these applicants (expected profit "
        f"{profit:,.0f}); the optimised caps expect {optimised:,.0f}: see `limits` in params.yaml"
    ]


def _fairness_lines() -> list[str]:
    """One line per protected attribute: reference group, lowest AIR, flags, proxy AUC."""
    path = paths.metrics_path("fairness")
    if not path.is_file():
        return []
    found = read_json(path)
    if not found.get("applicable", True):
        return [f"fairness    {found['why']}"]
    lines = []
    for column, a in found["attributes"].items():
        flags = [f"AIR < threshold: {', '.join(a['air_flagged'])}"] if a["air_flagged"] else []
        flags += (
            [f"SMD beyond threshold: {', '.join(a['smd_flagged'])}"] if a["smd_flagged"] else []
        )
        flags += ["features proxy it"] if a["proxy_flagged"] else []
        shown = attribute_figures(a)
        lines.append(
            f"fairness    {column}: reference {a['reference']}, lowest AIR {shown['air']}, proxy "
            f"AUC {shown['proxy']}; flags: {'; '.join(flags) if flags else 'none'}"
            + shown["too_small"]
        )
    return lines


def _monitor_lines() -> list[str]:
    """Monitoring, and on behavioural data the review and its backtest, in a few lines."""
    lines = []
    if paths.metrics_path("monitor").is_file():
        m = read_json(paths.metrics_path("monitor"))
        failing = ", ".join(m["grades_failing_binomial"]) or "none"
        lines.append(
            f"monitor     PSI of the score {m['psi_score']:.3f}; {m['features_shifted']} "
            f"feature(s) shifted (PSI > 0.25); grades off their PD (binomial, 5%): {failing}; "
            f"stress: EL on today's limits {m['stress_expected_loss_change']:+.1%}, after the "
            f"policy responds {m['stress_policy_expected_loss_change']:+.1%}"
        )
    limits = read_json(paths.metrics_path("limits"))
    lines += _need_lines(limits.get("need_based", {}))
    review = limits.get("review")
    if review:
        actions = ", ".join(f"{k} {v:,}" for k, v in review["actions"].items())
        lines.append(f"review      {review['date']}: {review['accounts']:,} accounts: {actions}")
    backtest = read_json(paths.metrics_path("backtest")) if paths.metrics_path(
        "backtest").is_file() else {}  # fmt: skip
    if backtest.get("applicable"):
        s, r = backtest["static"], backtest["review"]
        lines.append(
            f"backtest    review vs static limits: EL {r['expected_loss']:,.0f} vs "
            f"{s['expected_loss']:,.0f} ({backtest['expected_loss_change']:+.1%}), expected "
            f"profit {r['expected_profit']:,.0f} vs {s['expected_profit']:,.0f}, realised loss "
            f"{r['realised_loss']:,.0f} vs {s['realised_loss']:,.0f}; "
            f"{r['share_defaulters_cut_before_default']:.0%} of defaulters cut before default"
        )
    return lines


def _need_lines(need_based: dict) -> list[str]:
    """The need models' fit on test and what need-based caps change, where they applied."""
    if not need_based.get("applied"):
        return []
    fit = read_json(paths.metrics_path("need"))
    u, c = fit["utilisation_next_12m"], fit["ccf_at_default"]
    ccf = (f", CCF at default MAE {c['model']['mae']:.3f} (constant {c['constant']['mae']:.3f})"
           if c.get("rows") else "")  # fmt: skip
    profit = need_based["expected_profit"]
    realised, change = need_based["realised_profit"], need_based["realised_profit_change"]
    return [
        f"need        expected utilisation MAE {u['model']['mae']:.3f} on test (constant "
        f"{u['constant']['mae']:.3f}){ccf}",
        f"need caps   caps per need group vs the products' constants: expected profit "
        f"{profit['need_based']:,.0f} vs {profit['constants']:,.0f} "
        f"({need_based['profit_change']:+,.0f}), realised {realised['need_based']:,.0f} vs "
        f"{realised['constants']:,.0f} ({change['difference']:+,.0f}, 95% CI "
        f"[{change['ci95'][0]:+,.0f}, {change['ci95'][1]:+,.0f}]) "
        "(see reports/limits/need_based_caps.json)",
    ]


def _negatives_note(negatives: dict[str, int]) -> str:
    if not negatives:
        return ""
    shown = ", ".join(f"{c} ({n:,})" for c, n in negatives.items())
    return f"; negative values kept in {shown}: list a column in data.nonnegative to refuse them"


def print_summary() -> None:
    print(summary_text())


def run_cross_validation(
    params: Params,
    dataset: str | None,
    repeats: int,
    folds: int,
    trials: int | None,
    output: Path | None,
) -> dict:
    """Ingest the data set in memory, cross-validate every family, print and save the table."""
    data = params.data.model_copy(update={"dataset": dataset}) if dataset else params.data
    tune = params.tune.model_copy(update={"n_trials": trials}) if trials else params.tune
    params = params.model_copy(update={"data": data, "tune": tune})
    result = ingest(resolve_spec(data), data.max_quarantine_share)
    check_quarantine_share(result, data.max_quarantine_share)
    start = time.perf_counter()
    cv = cross_validate(result.accepted, result.spec, params, repeats, folds)
    cv["wall_seconds"] = time.perf_counter() - start
    table = pd.DataFrame(cv["families"])
    print(f"\n{cv['dataset']}: {repeats} x {folds}-fold CV, {cv['rows']} rows, "
          f"{tune.n_trials} Optuna trials per fold, {cv['wall_seconds']:.0f} s")  # fmt: skip
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    chosen = ", ".join(f"{f} {n}" for f, n in cv["champion_chosen"].items())
    print(f"champion: the selection procedure of `train`, nested in each fold; it chose {chosen}")
    if output:
        write_json(output, cv)
    return cv
