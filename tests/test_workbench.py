"""The notebook helpers: ordered bins, level PSI, formatted tables, findings, the waterfall."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from limitlab.data.columns import BAD
from limitlab.workbench import explore, presentation, whatif
from limitlab.workbench.monitor import level_psi


def test_numeric_bins_are_in_numeric_order_with_missing_last() -> None:
    values = [1.0, 2.0, 3.0, 9.0, 10.0, 11.0, 100.0, 200.0, None, None]
    frame = pd.DataFrame({"x": values, BAD: [0, 0, 1, 0, 1, 1, 0, 1, 1, 1]})
    table = explore.bad_rate_by_bin(frame, "x", bins=3)
    labels = table["x"].tolist()
    assert labels[-1] == "<missing>" and table["count"].sum() == 10
    lefts = [float(label.strip("([").split(",")[0]) for label in labels[:-1]]
    assert lefts == sorted(lefts) and len(lefts) == 3
    assert table.loc[table["x"] == "<missing>", "bad_rate"].item() == 1.0


def test_level_psi_by_hand() -> None:
    old = pd.Series(["a"] * 50 + ["b"] * 50)
    new = pd.Series(["a"] * 80 + ["b"] * 20)
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert level_psi(old, new) == pytest.approx(expected)
    assert level_psi(old, old) == 0.0
    unseen = level_psi(old, pd.Series(["a"] * 50 + ["c"] * 50))  # 'b' gone, 'c' new
    assert unseen > 0.25


def test_money_whole_and_rates_as_percent() -> None:
    table = pd.DataFrame({"max_pd": [0.15], "approval_rate": [0.4183], "total_limit": [486500.4],
                          "expected_profit": [-219.67], "applicants": [891]})  # fmt: skip
    html = presentation.styled(table).to_html()
    for shown in ("15.0%", "41.8%", "486,500", "-220", "891"):
        assert shown in html, shown


def test_what_if_findings_name_the_best_value_and_the_current_one() -> None:
    table = pd.DataFrame({"max_pd": [0.1, 0.2, 0.6], "approval_rate": [0.3, 0.5, 0.8],
                          "expected_profit": [100.0, 500.0, -20.0]})  # fmt: skip
    text = whatif.findings({"max_pd": table}, {"max_pd": 0.6})
    assert text == ("max_pd: highest expected profit 500 at 0.2 (approval 50.0%); current value "
                    "0.6: -20")  # fmt: skip


def test_exploration_findings_say_what_is_strongest_missing_and_refused() -> None:
    iv = pd.DataFrame({"name": ["a", "b"], "iv": [0.5, 0.01], "strength": ["strong", "useless"]})
    missing = pd.DataFrame({"feature": ["b"], "missing_share": [0.1], "bad_rate_missing": [0.5],
                            "bad_rate_present": [0.2]})  # fmt: skip
    text = explore.findings(iv, missing, {"rows_read": 10, "rows_kept": 9, "rows_quarantined": 1})
    assert text.splitlines() == [
        "Strongest feature: a (IV 0.50, strong); useless by IV: b.",
        "Most missing: b (10.0% of rows; bad rate 50.0% where missing against 20.0% where "
        "present).",
        "Ingest kept 9 of 10 rows and quarantined 1.",
    ]
    assert np.isfinite(iv["iv"]).all()
