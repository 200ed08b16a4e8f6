"""Need and usage models: the outcomes read off the panel, the regressors, per applicant
economics, and grade caps per need group against the products' constants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limitlab.config import AccountsParams, NeedParams, ParamsError, parse_params
from limitlab.data.accounts import HORIZON, panel_frame, simulate, snapshots
from limitlab.errors import InputError
from limitlab.limits import decide
from limitlab.limits.economics import Usage
from limitlab.limits.need import (
    AT_DEFAULT,
    CCF,
    UTILISATION,
    NeedModels,
    clustered_difference,
    need_groups,
    need_targets,
    realised_rows,
    realised_totals,
)
from limitlab.limits.optimise import (
    candidate_outcomes,
    decide_by_group,
    optimise_group_caps,
    optimise_with_need,
)

from .test_policy import load_params_raw, two_grade_policy


def hand_panel() -> pd.DataFrame:
    """Account 1: limit 1000, balances 100..600, defaults in month 6. Account 2: never defaults,
    drawn 950 of 1000 (almost no undrawn line)."""
    rows = [(1, m, 1000.0, 100.0 * m, int(m == 6)) for m in range(1, 7)]
    rows += [(2, m, 1000.0, 950.0, 0) for m in range(1, 9)]
    return pd.DataFrame(rows, columns=["account_id", "month", "limit", "balance", "defaulted"])


def test_outcomes_are_read_off_a_hand_made_panel() -> None:
    snaps = pd.DataFrame({"account_id": [1, 1, 2, 3], "snapshot_month": [2, 4, 2, 2]})
    got = need_targets(snaps, hand_panel(), "account_id", horizon=3, min_undrawn_share=0.1)
    # account 1 at month 2: months 3..5 drawn 0.3, 0.4, 0.5; no default inside the window
    assert got[UTILISATION].iloc[0] == pytest.approx(0.4)
    assert np.isnan(got[CCF].iloc[0]) and np.isnan(got[AT_DEFAULT].iloc[0])
    # at month 4: months 5, 6 (closed after its default); defaults at 6 drawn 0.6 from 0.4
    assert got[UTILISATION].iloc[1] == pytest.approx(0.55)
    assert got[AT_DEFAULT].iloc[1] == pytest.approx(0.6)
    assert got[CCF].iloc[1] == pytest.approx((0.6 - 0.4) / (1 - 0.4))
    # account 2 has 5% undrawn: its CCF would be undefined, and it did not default anyway
    assert got[UTILISATION].iloc[2] == pytest.approx(0.95)
    assert np.isnan(got[CCF].iloc[2])
    # account 3 is not in the panel: no outcome, not a guess
    assert got.iloc[3].isna().all()


def test_ccf_is_floored_at_zero_and_undefined_on_a_full_line() -> None:
    panel = pd.DataFrame({"account_id": [1] * 3 + [2] * 3, "month": [1, 2, 3] * 2,
                          "limit": [1000.0] * 6, "balance": [800, 500, 300, 980, 990, 990],
                          "defaulted": [0, 0, 1, 0, 0, 1]})  # fmt: skip
    snaps = pd.DataFrame({"account_id": [1, 2], "snapshot_month": [1, 1]})
    got = need_targets(snaps, panel, "account_id", horizon=2, min_undrawn_share=0.05)
    assert got[CCF].iloc[0] == 0.0  # the balance fell before default
    assert np.isnan(got[CCF].iloc[1])  # 2% undrawn < 5%


def panel_and_snapshots(accounts: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    params = AccountsParams(accounts=accounts, months=30, seed=seed, snapshot_every=3)
    sim = simulate(params, 0, accounts, 1)
    return panel_frame(sim), snapshots(sim, params)


def test_models_beat_a_constant_on_accounts_they_never_saw() -> None:
    panel, snaps = panel_and_snapshots(2000, seed=3)
    features = ["utilisation_3m", "utilisation_12m", "utilisation_trend_12m", "dpd_now",
                "payment_ratio_3m", "max_dpd_12m", "cash_advance_share_3m"]  # fmt: skip
    targets = need_targets(snaps, panel, "account_id", HORIZON, 0.05)
    train = (snaps["account_id"] <= 1400).to_numpy()
    models = NeedModels.fit(snaps[train], targets[train], features, NeedParams(max_iter=60))
    usage = models.predict(snaps[~train])
    observed = targets.loc[~train, UTILISATION].to_numpy()
    constant = targets.loc[train, UTILISATION].mean()
    assert np.abs(usage.utilisation - observed).mean() < 0.6 * np.abs(constant - observed).mean()
    assert ((usage.ccf >= 0) & (usage.ccf <= 1)).all()
    again = NeedModels.fit(snaps[train], targets[train], features, NeedParams(max_iter=60))
    assert np.array_equal(again.predict(snaps[~train]).utilisation, usage.utilisation)


def test_too_few_rows_with_an_outcome_is_refused_naming_the_key() -> None:
    panel, snaps = panel_and_snapshots(500, seed=1)
    targets = need_targets(snaps, panel, "account_id", HORIZON, 0.05)
    enough_for_utilisation = NeedParams(min_rows=int(targets[UTILISATION].notna().sum()))
    with pytest.raises(InputError, match=r"ccf_at_default; expected at least need\.min_rows"):
        NeedModels.fit(snaps, targets, ["utilisation_3m"], enough_for_utilisation)
    models = NeedModels.fit(snaps, targets, ["utilisation_3m"], NeedParams(max_iter=5))
    with pytest.raises(InputError, match=r"lacks column\(s\) \['utilisation_3m'\]"):
        models.predict(snaps.drop(columns=["utilisation_3m"]))


def test_bands_out_of_order_are_a_params_error_naming_the_key() -> None:
    raw = load_params_raw()
    raw["need"]["utilisation_bands"] = [0.5, 0.3]
    with pytest.raises(ParamsError, match=r"need\.utilisation_bands.*strictly increasing"):
        parse_params(raw)


def test_need_groups_split_at_the_bands() -> None:
    got = need_groups(np.array([0.0, 0.2, 0.39, 0.6, 1.0]), [0.2, 0.6])
    assert got.tolist() == ["under_0.2", "0.2_to_0.6", "0.2_to_0.6", "0.6_and_over",
                            "0.6_and_over"]  # fmt: skip


def test_usage_prices_each_applicant_with_its_own_utilisation_and_ccf() -> None:
    policy = two_grade_policy()
    usage = Usage(np.array([0.25, 0.8]), np.array([0.5, 0.0]))
    out = decide(np.array([0.01, 0.05]), pd.DataFrame(index=range(2)), policy, usage=usage)
    assert out["limit"].tolist() == [200, 200]
    assert out["expected_drawn"].tolist() == pytest.approx([50.0, 160.0])
    assert out["ead"].tolist() == pytest.approx([50 + 0.5 * 150, 160.0])
    assert out["expected_profit"].tolist() == pytest.approx(
        [0.1 * 50 - 0.01 * 125, 0.1 * 160 - 0.05 * 160]
    )
    with pytest.raises(InputError, match="1 usage estimates for 2 applicants"):
        decide(np.array([0.01, 0.05]), pd.DataFrame(index=range(2)), policy,
               usage=Usage(np.array([0.5]), np.array([0.5])))  # fmt: skip


def test_a_line_that_will_hardly_be_drawn_gets_a_lower_cap_in_its_group() -> None:
    policy = two_grade_policy()
    # both grade B (PD 0.05): one will draw 5% of its line and draw all of it by default,
    # the other 90% and hardly more. Per unit of limit: 0.1 x 0.05 - 0.05 x 1 < 0 against
    # 0.1 x 0.9 - 0.05 x 0.91 > 0; the constants (utilisation 1) see 0.1 - 0.05 > 0 for both.
    pds, frame = np.array([0.05, 0.05]), pd.DataFrame(index=range(2))
    usage = Usage(np.array([0.05, 0.9]), np.array([1.0, 0.1]))
    groups = need_groups(usage.utilisation, [0.5])
    caps = optimise_group_caps(candidate_outcomes(pds, frame, policy, usage, groups), policy)
    assert (caps["under_0.5"]["B"], caps["0.5_and_over"]["B"]) == (0, 200)
    out = decide_by_group(pds, frame, policy, caps, groups, usage)
    assert out["limit"].tolist() == [0, 200]

    calls = []

    def realised(decisions: pd.DataFrame) -> pd.DataFrame:
        calls.append(decisions["limit"].tolist())
        limit = decisions["limit"].to_numpy(float)
        return pd.DataFrame({"net_interest": limit, "realised_loss": 0.0, "realised_profit": limit})

    report = optimise_with_need(pds, frame, policy, usage, groups, realised, np.array([7, 7]))
    assert report["constants"]["caps"] == {"A": 200, "B": 200}
    # priced with the need models, the constants' choice loses 0.005 x 200 - 0.05 x 200 on the
    # line nobody draws; the need-based choice does not make it
    assert report["profit_change"] == pytest.approx(-(0.1 * 0.05 - 0.05) * 200)
    assert calls == [[200, 200], [0, 200]]
    change = report["realised_profit_change"]
    assert change["difference"] == -200 and change["clusters"] == 1


def test_realised_economics_price_what_the_panel_shows() -> None:
    policy = two_grade_policy()
    decisions = pd.DataFrame({"product": ["p", "p"], "limit": [200.0, 100.0]})
    outcomes = pd.DataFrame({UTILISATION: [0.5, 0.8], AT_DEFAULT: [np.nan, 0.9]})
    got = realised_totals(realised_rows(decisions, np.array([0, 1]), outcomes, policy))
    assert got["net_interest"] == pytest.approx(0.1 * (0.5 * 200 + 0.8 * 100))
    assert got["realised_loss"] == pytest.approx(1.0 * 0.9 * 100)
    assert got["realised_profit"] == pytest.approx(got["net_interest"] - 90)


def test_the_realised_difference_is_clustered_by_account() -> None:
    a, b = np.array([3.0, 1.0, 2.0, 0.0]), np.zeros(4)
    got = clustered_difference(a, b, np.array([1, 1, 2, 2]))  # per account: 4, 2
    se = np.sqrt(2) * np.std([4.0, 2.0], ddof=1)
    assert got["difference"] == 6 and got["clusters"] == 2
    assert got["ci95"] == pytest.approx([6 - 1.96 * se, 6 + 1.96 * se])
    rows = clustered_difference(a, b, np.arange(4))  # as independent rows: a wider spread
    assert rows["ci95"][1] - rows["ci95"][0] != got["ci95"][1] - got["ci95"][0]


def test_switching_the_need_models_off_leaves_no_earlier_models_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from limitlab import paths
    from limitlab.data.specs import BUNDLED
    from limitlab.stages import need as need_stage

    monkeypatch.chdir(tmp_path)
    BUNDLED["behavioural"].to_json(paths.SPEC)
    (paths.NEED_DIR).mkdir(parents=True)
    (paths.NEED_DIR / "need.joblib").write_bytes(b"an earlier run's models")
    raw = load_params_raw()
    raw["need"]["fit"] = False
    note = need_stage.run(parse_params(raw))
    assert note == {"applicable": False, "why": "need.fit is false"}
    assert NeedModels.load(paths.NEED_DIR) is None
    assert pd.read_parquet(paths.NEED_TEST_OUTCOMES).empty
