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
    other = pending(frame([7])[["income", "id"]])  # other columns: never joined
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


def read_by_value(frame: pd.DataFrame) -> pd.DataFrame:
    """A scorer that reads income by value, as the model does: numbers parsed, text refused."""
    income = pd.to_numeric(frame["income"].astype("string"), errors="coerce")
    bad = np.flatnonzero(frame["income"].notna().to_numpy() & income.isna().to_numpy())
    if len(bad):
        raise ValueError(f"row {bad[0]}: income {frame['income'].iloc[bad[0]]!r} is not a number")
    return pd.DataFrame({"limit": income.fillna(0.0).to_numpy() * 0.2, "id": frame["id"]})


def test_requests_parsed_to_other_types_are_joined_and_answered_as_alone(
    pending: Callable[[pd.DataFrame], Pending],
) -> None:
    as_int = pd.DataFrame({"id": [1], "income": [1200]})
    as_float = pd.DataFrame({"id": [2], "income": [1200.5]})
    as_null = pd.DataFrame({"id": [3], "income": pd.Series([None], dtype=object)})
    as_text = pd.DataFrame({"id": [4], "income": ["1300"]})
    group = [pending(f) for f in (as_int, as_float, as_null, as_text)]
    assert joint_groups(group, batch_rows=16) == [group]
    calls: list[int] = []

    def counted(rows: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(rows))
        return read_by_value(rows)

    answers = score_group(counted, group)
    assert calls == [4]
    for p, got in zip(group, answers, strict=True):
        pd.testing.assert_frame_equal(got, read_by_value(p.frame))
    bad = pd.DataFrame({"id": [5], "income": ["many"]})
    *_, refusal = score_group(read_by_value, [*group, pending(bad)])
    assert str(refusal) == "row 0: income 'many' is not a number"


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


def test_under_load_a_call_gathers_the_requests_its_last_call_answered() -> None:
    """Twenty closed-loop clients, each sending its next request a moment after its answer:
    with a gathering wait the calls hold them all, without it calls start on the first."""

    async def run(wait: float) -> list[int]:
        sizes: list[int] = []

        def counted(rows: pd.DataFrame) -> pd.DataFrame:
            sizes.append(len(rows))
            return decide(rows)

        batcher = Batcher(counted, batch_rows=64, wait=wait)

        async def client(k: int) -> None:
            for i in range(5):
                await batcher.score(frame([k * 10 + i]))
                await asyncio.sleep(0.0002 * (k % 5))  # clients answer at different speeds

        await asyncio.gather(*(client(k) for k in range(20)))
        return sizes

    gathered, eager = asyncio.run(run(0.05)), asyncio.run(run(0.0))
    assert sum(gathered) == sum(eager) == 100
    assert len(gathered) < len(eager)
    assert sorted(gathered)[len(gathered) // 2] == 20  # most calls hold every client


def test_a_lone_request_is_not_kept_waiting() -> None:
    async def run() -> float:
        batcher = Batcher(decide, wait=5.0)  # a wait that would show
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(3):  # one at a time: the last call joined one request
            await batcher.score(frame([i]))
        return loop.time() - start

    assert asyncio.run(run()) < 5.0


@pytest.mark.parametrize(
    ("variable", "reader", "value"),
    [*[("LIMITLAB_SERVE_BATCH_WAIT_MS", "batch_wait", v) for v in ("-1", "1001", "soon")],
     *[("LIMITLAB_SERVE_BATCH_ROWS", "batch_rows", v) for v in ("0", "-3", "many", "2.5")]],
)  # fmt: skip
def test_a_bad_batching_setting_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, reader: str, value: str
) -> None:
    from limitlab.errors import StateError
    from limitlab.serving import server

    monkeypatch.setenv(variable, value)
    with pytest.raises(StateError, match=f"{variable}='{value}'; expected"):
        getattr(server, reader)()
