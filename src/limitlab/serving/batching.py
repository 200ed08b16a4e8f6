"""Concurrent requests scored together: one model call for the rows of many small requests.

Scoring has a fixed cost per call (checks, frame building, the policy) that dwarfs one row's
share of the model, so a server answering one row per request spends most of its time outside
the model. The batcher keeps one scoring call running per server process; requests that arrive
while it runs wait in a queue, and the next call scores all of them at once (no added wait: a
lone request is scored at once). Only requests with the same columns are joined, and their
answers are the rows of the joint answer, in order: each row is decided on its own, so a row's
answer does not depend on its neighbours (tested against requests sent one at a time). Requests
whose columns parsed to different types (a number sent as 12 or 12.0, a field left null) are
joined too: the model reads every column by value (numbers parsed, text kept), so the wider
type of the joint frame reads each row's values as its own frame would.

Under load (the last call joined several requests), the batcher first gathers: it waits up to
``wait`` seconds for as many requests as the last call joined, since clients answered by that
call are sending their next request. Without it a call would often start on the first of them
alone, and the rest would wait through that call too. A request arriving at a quiet server
never waits.

With an ``encode`` function (the server's: decisions to JSON-ready records), the joint answer
is encoded once and each request gets its slice of the encoded rows, so the per-call cost of
encoding is shared too.

When a joint call is refused (a bad row in one request), every request in it is scored again on
its own, so each gets the answer, or the refusal, it would have had alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

BATCH_ROWS = 256  # rows per joint call; a larger request is scored on its own
BATCH_ROWS_VARIABLE = "LIMITLAB_SERVE_BATCH_ROWS"
BATCH_WAIT = 0.003
BATCH_WAIT_VARIABLE = "LIMITLAB_SERVE_BATCH_WAIT_MS"
GATHER_POLL = 0.0005  # seconds between looks at the queue while gathering

Predict = Callable[[pd.DataFrame], pd.DataFrame]
Encode = Callable[[pd.DataFrame], Sequence]
Answer = pd.DataFrame | Sequence


@dataclass
class Pending:
    """One request's rows and the future its answer (or its exception) is set on."""

    frame: pd.DataFrame
    answer: asyncio.Future = field(repr=False)

    @property
    def key(self) -> tuple:
        return tuple(self.frame.columns)


def joint_groups(waiting: list[Pending], batch_rows: int) -> list[list[Pending]]:
    """Waiting requests in groups to score together: the same columns, at most
    ``batch_rows`` rows a group (a larger request alone), in arrival order within a group."""
    groups: list[list[Pending]] = []
    open_groups: dict[tuple, list[Pending]] = {}
    open_rows: dict[tuple, int] = {}  # rows in each open group
    for pending in waiting:
        rows, key = len(pending.frame), pending.key
        if key not in open_groups or open_rows[key] + rows > batch_rows:
            groups.append([])
            open_groups[key], open_rows[key] = groups[-1], 0
        open_groups[key].append(pending)
        open_rows[key] += rows
    return groups


def score_group(
    predict: Predict, group: list[Pending], encode: Encode | None = None
) -> list[Answer | BaseException]:
    """Each request's answer from one joint call, or from calls of its own when it fails:
    its rows of the decisions, or of ``encode(decisions)`` when given."""
    if len(group) > 1:
        try:
            joint = predict(pd.concat([p.frame for p in group], ignore_index=True))
            encoded = joint if encode is None else encode(joint)
        except Exception:
            pass
        else:
            answers: list[Answer | BaseException] = []
            start = 0
            for pending in group:
                stop = start + len(pending.frame)
                if encode is None:
                    answers.append(joint.iloc[start:stop].reset_index(drop=True))
                else:
                    answers.append(encoded[start:stop])
                start = stop
            return answers
    answers = []
    for pending in group:
        try:
            alone = predict(pending.frame)
            answers.append(alone if encode is None else encode(alone))
        except Exception as exc:
            answers.append(exc)
    return answers


class Batcher:
    """Scores requests' frames through ``predict``, joining those that wait (module docstring)."""

    def __init__(
        self,
        predict: Predict,
        batch_rows: int = BATCH_ROWS,
        encode: Encode | None = None,
        wait: float = BATCH_WAIT,
    ) -> None:
        self.predict = predict
        self.batch_rows = batch_rows
        self.encode = encode
        self.wait = wait
        self.queue: asyncio.Queue[Pending] | None = None
        self.calls = 0  # scoring calls made (joint or single)
        self.last_joined = 0  # requests the last call answered

    async def score(self, frame: pd.DataFrame) -> Answer:
        """The answer to one request's rows (encoded when the batcher encodes); raises what
        scoring them alone would raise."""
        if self.queue is None:  # created in the server's event loop, on the first request
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._run())
        answer = asyncio.get_running_loop().create_future()
        await self.queue.put(Pending(frame, answer))
        return await answer

    async def _run(self) -> None:
        assert self.queue is not None
        while True:
            waiting = [await self.queue.get()]
            await self._gather(waiting)
            for group in joint_groups(waiting, self.batch_rows):
                live = [p for p in group if not p.answer.done()]  # a timed-out request is gone
                if not live:
                    continue
                self.calls += 1
                self.last_joined = len(live)
                try:
                    answers = await asyncio.to_thread(score_group, self.predict, live, self.encode)
                except Exception as exc:
                    answers = [exc] * len(live)
                for pending, answer in zip(live, answers, strict=True):
                    if pending.answer.done():
                        continue
                    if isinstance(answer, BaseException):
                        pending.answer.set_exception(answer)
                    else:
                        pending.answer.set_result(answer)

    async def _gather(self, waiting: list[Pending]) -> None:
        """Add the queued requests to ``waiting``; under load, first wait up to ``wait`` seconds
        for as many as the last call joined."""
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:
            while not self.queue.empty():
                waiting.append(self.queue.get_nowait())
            rows = sum(len(p.frame) for p in waiting)
            enough = len(waiting) >= self.last_joined or rows >= self.batch_rows
            if enough or self.last_joined <= 1 or loop.time() >= deadline:
                return
            await asyncio.sleep(GATHER_POLL)
