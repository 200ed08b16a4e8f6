"""Work spread over the machine's cores gives what one thread gives, and raises what it raises."""

from __future__ import annotations

import numpy as np
import pytest

from limitlab.limits.reasons import N_REASONS, driver_order
from limitlab.threads import MIN_ROWS, in_background, run_each


def test_drivers_of_a_large_batch_equal_one_threads_and_a_stable_sort() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(-2, 4, (MIN_ROWS * 2 + 123, 9)).astype(float)  # many ties
    values[rng.random(values.shape) < 0.1] = np.nan
    found = driver_order(values)
    np.testing.assert_array_equal(found, driver_order(values, threads=False))
    sample = rng.choice(len(values), 2000, replace=False)
    expected = np.argsort(-np.nan_to_num(values[sample], nan=-np.inf), axis=1, kind="stable")
    expected = expected[:, : N_REASONS - 1]
    positive = np.take_along_axis(values[sample], expected, axis=1) > 0
    np.testing.assert_array_equal(found[sample], np.where(positive, expected, -1))


@pytest.mark.parametrize("rows", [10, MIN_ROWS])
def test_each_task_runs_once_and_the_first_error_is_raised(rows: int) -> None:
    out = np.zeros(8, dtype=int)

    def task(i: int) -> None:
        out[i] += i + 1

    run_each(task, len(out), rows)
    np.testing.assert_array_equal(out, np.arange(1, 9))

    def failing(i: int) -> None:
        if i == 5:
            raise ValueError("task 5 failed")

    with pytest.raises(ValueError, match="task 5 failed"):
        run_each(failing, 8, rows)


@pytest.mark.parametrize("rows", [10, MIN_ROWS])
def test_a_background_result_and_its_error_arrive_where_read(rows: int) -> None:
    assert in_background(sum, rows, [1, 2, 3])() == 6
    result = in_background(int, rows, "not a number")  # nothing raised yet
    with pytest.raises(ValueError, match="not a number"):
        result()
