"""Strategy test cells: the assignment of accounts (deterministic, stable, balanced), the params
that declare a test, the policy of each cell and the backtest of every cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from limitlab.config import ParamsError, ReviewParams, parse_params
from limitlab.data.specs import resolve_spec
from limitlab.errors import InputError
from limitlab.limits.backtest import (
    REVIEW,
    BacktestInputs,
    CellStrategy,
    backtest,
    backtest_cells,
)
from limitlab.limits.policy import Policy
from limitlab.limits.strategies import Cell, StrategyTest, assign_cells, draws

from .test_config import base_params
from .test_stage_logic import ECONOMICS, PRODUCT, ROLES

IDS = pd.Series(np.arange(20_000))


def cells(*shares: float) -> list[Cell]:
    return [Cell(f"cell{i}", "current", s) for i, s in enumerate(shares)]


def test_assignment_is_deterministic_and_does_not_depend_on_the_batch() -> None:
    test = cells(0.5, 0.3, 0.2)
    whole = assign_cells(IDS, "t1", test)
    assert (whole == assign_cells(IDS, "t1", test)).all()
    part = IDS.sample(500, random_state=3)
    assert (assign_cells(part, "t1", test) == whole[part.to_numpy()]).all()
    assert (assign_cells(IDS, "t2", test) != whole).mean() > 0.4  # another test, another draw


def test_whole_numbers_are_one_id_whatever_their_type() -> None:
    as_int = draws(pd.Series([7, 12345]), "t")
    assert (draws(pd.Series([7.0, 12345.0]), "t") == as_int).all()
    assert (draws(pd.Series(["7", "12345"]), "t") == as_int).all()
    assert (draws(pd.Series([7.5]), "t") != draws(pd.Series([7]), "t")).all()


def test_draws_are_the_same_on_every_machine() -> None:
    # SHA-256 of "t\x1f7": its first 8 bytes over 2**64 (no library's own hash)
    assert draws(pd.Series([7]), "t")[0] == 0.21874264704310403


@settings(max_examples=40, deadline=None)
@given(
    shares=st.lists(st.integers(1, 20), min_size=2, max_size=5),
    keep=st.integers(1, 4),
    new=st.lists(st.integers(1, 20), min_size=1, max_size=4),
)
def test_changing_later_cells_never_moves_an_account(shares, keep, new) -> None:
    keep = min(keep, len(shares) - 1)
    total = sum(shares)
    before = [s / total for s in shares]
    rest = sum(before[keep:])
    after = before[:keep] + [rest * n / sum(new) for n in new]
    a = assign_cells(IDS[:3000], "t", cells(*before))
    b = assign_cells(IDS[:3000], "t", cells(*after))
    earlier = np.isin(a, [f"cell{i}" for i in range(keep)])
    assert (a[earlier] == b[earlier]).all()
    assert set(b[~earlier]).isdisjoint(f"cell{i}" for i in range(keep))


def test_a_growing_last_cell_keeps_every_account() -> None:
    small = assign_cells(IDS, "t", cells(0.9, 0.1))
    large = assign_cells(IDS, "t", cells(0.5, 0.5))
    assert (large[small == "cell1"] == "cell1").all()


@pytest.mark.parametrize("shares", [(0.5, 0.5), (0.7, 0.2, 0.1), (0.98, 0.02)])
def test_cells_are_balanced_within_sampling_error(shares: tuple[float, ...]) -> None:
    got = pd.Series(assign_cells(IDS, "balance", cells(*shares))).value_counts()
    for i, share in enumerate(shares):
        sd = np.sqrt(len(IDS) * share * (1 - share))
        assert abs(got.get(f"cell{i}", 0) - len(IDS) * share) < 4 * sd


def test_a_missing_id_is_refused_with_its_column() -> None:
    test = StrategyTest("t", tuple(cells(0.5, 0.5)), "account_id")
    with pytest.raises(InputError, match=r"account_id: missing in 1 row\(s\) \(first: row 1\)"):
        test.assign(pd.DataFrame({"account_id": [1.0, np.nan]}))


def with_strategies(**strategies) -> dict:
    raw = base_params()
    raw["strategies"] = {**raw["strategies"], **strategies}
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cells": [{"name": "a", "strategy": "current", "share": 0.5},
                    {"name": "b", "strategy": "current", "share": 0.4}]},
         r"strategies: .*sum to 0.9; expected 1"),
        ({"cells": [{"name": "a", "strategy": "current", "share": 1.0}]},
         r"strategies: .*expected two or more cells"),
        ({"cells": [{"name": "a", "strategy": "current", "share": 0.5},
                    {"name": "a", "strategy": "current", "share": 0.5}]},
         r"strategies: .*unique names"),
        ({"cells": [{"name": "a", "strategy": "current", "share": 0.5},
                    {"name": "b", "strategy": "bold", "share": 0.5}]},
         r"strategies\.cells\.1\.strategy: value 'bold' is not a strategy; expected one of "
         r"\['current', 'early_cuts'\]"),
        ({"variants": {"early_cuts": {"review": {"max_stepup": 0.2}}}},
         r"strategies\.variants\.early_cuts\.review\.max_stepup: unknown key"),
        ({"variants": {"early_cuts": {"review": {"freeze_pd": 2}}}},
         r"strategies\.variants\.early_cuts\.review\.freeze_pd: value 2 is invalid"),
        ({"variants": {"early_cuts": {"limits": {"products": {"revolving": {"lgd": -1}}}}}},
         r"strategies\.variants\.early_cuts\.limits\.products\.revolving\.lgd: value -1"),
        ({"variants": {"early_cuts": {"pricing": {"rate": 1}}}},
         r"strategies\.variants\.early_cuts\.pricing: unknown section"),
    ],
)  # fmt: skip
def test_a_bad_strategy_test_is_a_params_error_naming_the_key(change: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        parse_params(with_strategies(**change))


def test_no_test_declared_needs_no_cells() -> None:
    params = parse_params(with_strategies(test=None, cells=[]))
    assert params.strategies.test is None


def test_each_cell_gets_its_strategy_in_the_policy() -> None:
    params = parse_params(base_params())
    spec = resolve_spec(params.data.model_copy(update={"dataset": "behavioural"}))
    columns = [*spec.account.values(), "income"]
    policy, why = Policy.build_with_strategies(
        params.limits, params.review, params.strategies, spec, columns
    )
    assert why is None and policy.test.id_column == "account_id"
    assert policy.for_strategy("current") is policy
    assert policy.for_strategy("early_cuts").review.freeze_pd == 0.2
    assert policy.for_strategy("early_cuts").review.max_step_up == params.review.max_step_up
    assert "account_id" in policy.required_columns
    plain, why = Policy.build_with_strategies(
        params.limits, params.review, params.strategies, resolve_spec(params.data), ["Income"]
    )
    assert plain.test is None and "no account or customer id" in why


def _panel(n: int, seed: int = 0) -> BacktestInputs:
    """``n`` accounts with limit 1,000 over months 1-7, reviewed at months 1 and 4; a tenth
    default in month 5 or 6."""
    rng = np.random.default_rng(seed)
    pd_ = rng.uniform(0.0, 0.4, n)
    balance = rng.uniform(0, 900, n)
    default = np.where(rng.uniform(size=n) < pd_ / 2, rng.choice([5, 6], n), 0)
    rows = []
    for i in range(n):
        for month in range(1, 8):
            if default[i] and month > default[i]:
                break
            rows.append((i, month, 1000.0, balance[i], int(month == default[i])))
    panel = pd.DataFrame(rows, columns=["account_id", "month", "limit", "balance", "defaulted"])
    snapshots = pd.DataFrame([
        {"account_id": i, "snapshot_month": m, "limit": 1000.0, "balance": balance[i],
         "utilisation": balance[i] / 1000, "dpd": 0.0, "mob": 24.0, "pd": pd_[i]}
        for m in (1, 4) for i in range(n) if not default[i] or default[i] > m
    ])  # fmt: skip
    return BacktestInputs(panel, snapshots, first_review=1, last_month=7)


def decide_at(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"pd": frame["pd"].to_numpy(), "limit": 1000.0})


def test_cells_under_one_strategy_add_up_to_the_whole_backtest() -> None:
    inputs, rules = _panel(300), ReviewParams(every_months=3)
    whole = backtest(inputs, decide_at, PRODUCT, rules, ROLES, ECONOMICS)["totals"][REVIEW]
    ids = pd.Series(np.arange(300))
    cell_of = pd.Series(assign_cells(ids, "t", cells(0.6, 0.4)), index=ids)
    same = CellStrategy(decide_at, PRODUCT, rules)
    report = backtest_cells(inputs, cell_of, {"cell0": same, "cell1": same}, "cell0", ROLES,
                            ECONOMICS)  # fmt: skip
    assert report["cell0"]["accounts"] + report["cell1"]["accounts"] == 300
    for name in ("mean_exposure", "expected_loss", "realised_loss", "expected_profit"):
        assert report["cell0"][name] + report["cell1"][name] == pytest.approx(whole[name])
    assert (report["cell0"]["defaulters"] + report["cell1"]["defaulters"]
            == whole["defaulters"])  # fmt: skip
    mean = report["cell1"]["per_account"]["realised_loss"]
    assert mean["mean"] == pytest.approx(report["cell1"]["realised_loss"] / 300 / 0.4, rel=0.2)
    assert mean["ci95"][0] <= mean["mean"] <= mean["ci95"][1]


def test_a_stricter_challenger_cuts_exposure_and_the_test_says_so() -> None:
    inputs = _panel(2000, seed=1)
    ids = pd.Series(np.arange(2000))
    cell_of = pd.Series(assign_cells(ids, "t", cells(0.5, 0.5)), index=ids)
    control = CellStrategy(decide_at, PRODUCT, ReviewParams(every_months=3))
    strict = CellStrategy(decide_at, PRODUCT, ReviewParams(every_months=3, decrease_min_pd=0.05,
                                                           freeze_pd=0.1))  # fmt: skip
    report = backtest_cells(inputs, cell_of, {"cell0": control, "cell1": strict}, "cell0",
                            ROLES, ECONOMICS)  # fmt: skip
    diff = report["cell1"]["vs_control"]
    assert "vs_control" not in report["cell0"]
    assert diff["exposure"]["difference"] < 0 and diff["exposure"]["ci95"][1] < 0
    assert diff["exposure"]["p_value"] < 0.001
    assert diff["share_defaulters_cut_before_default"]["difference"] > 0
