"""The server's batcher: joint calls answer each request as a call of its own would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from limitlab.serving.batching import Batcher, Pending, joint_groups, score_group


def decide(frame: pd.DataFrame) -> pd.DataFrame:
    """A row-wise scorer that refuses a negative income, naming the row, like the model."""
    negative = np.flatnonzero(frame["income"].to_numpy() < 0)
    if len(negative):
        raise ValueError(f"row {negative[0]}: income is negative")
    return pd.DataFrame({"limit": frame["income"] * 0.2, "id": frame["id"]})


@pytest.fixture
def pending() -> Iterator[Callable[[pd.DataFrame], Pending]]:
    """Makes a waiting request (its answer future on a loop of its own) from a frame."""
    loop = asyncio.new_event_loop()
    yield lambda rows: Pending(rows, loop.create_future())
    loop.close()


def frame(ids: list[int], income: float = 1000.0) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "income": [income + i for i in ids]})


def test_groups_join_same_columns_up_to_the_row_limit_and_keep_order(
    pending: Callable[[pd.DataFrame], Pending],
) -> None:
    a, b, c = pending(frame([1, 2])), pending(frame([3])), pending(frame([4, 5, 6]))
    other = pending(frame([7]).astype({"income": "int64"}))  # other dtypes: never joined
    big = pending(frame(list(range(10, 15))))  # larger than the limit: alone
    groups = joint_groups([a, other, b, big, c], batch_rows=4)
    assert groups == [[a, b], [other], [big], [c]]
    assert joint_groups([a, b, c], batch_rows=1) == [[a], [b], [c]]


def test_joint_answers_equal_answers_alone(pending: Callable[[pd.DataFrame], Pending]) -> None:
    group = [pending(frame([1, 2])), pending(frame([3])), pending(frame([4, 5, 6]))]
    calls: list[int] = []

    def counted(rows: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(rows))
        return decide(rows)

    answers = score_group(counted, group)
    assert calls == [6]  # one joint call
    for p, got in zip(group, answers, strict=True):
        pd.testing.assert_frame_equal(got, decide(p.frame))


def test_a_bad_request_gets_its_own_refusal_and_the_others_their_answers(
    pending: Callable[[pd.DataFrame], Pending],
) -> None:
    bad = frame([0, 1]).assign(income=[10.0, -5.0])
    group = [pending(frame([1])), pending(bad), pending(frame([2, 3]))]
    first, refusal, last = score_group(decide, group)
    assert isinstance(refusal, ValueError) and str(refusal) == "row 1: income is negative"
    pd.testing.assert_frame_equal(first, decide(group[0].frame))
    pd.testing.assert_frame_equal(last, decide(group[2].frame))


def test_concurrent_requests_share_calls_and_each_gets_its_rows() -> None:
    requests = [frame([i]) for i in range(40)] + [frame([0]).assign(income=-1.0)]

    async def run() -> tuple[list, int]:
        batcher = Batcher(decide, batch_rows=16)
        answers = await asyncio.gather(
            *(batcher.score(f) for f in requests), return_exceptions=True
        )
        return answers, batcher.calls

    answers, calls = asyncio.run(run())
    assert calls < len(requests)  # requests waiting behind a call were joined
    for request, got in zip(requests[:-1], answers[:-1], strict=True):
        pd.testing.assert_frame_equal(got, decide(request))
    assert isinstance(answers[-1], ValueError) and "row 0: income is negative" in str(answers[-1])


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_a_bad_batch_size_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from limitlab.errors import StateError
    from limitlab.serving.server import batch_rows

    monkeypatch.setenv("LIMITLAB_SERVE_BATCH_ROWS", value)
    with pytest.raises(StateError, match=f"LIMITLAB_SERVE_BATCH_ROWS='{value}'; expected a"):
        batch_rows()
