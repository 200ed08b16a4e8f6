"""The split stage's work on one table by three engines: limitlab's own (pyarrow's batch reader,
numpy, an incremental Parquet writer), polars' streaming engine and DuckDB.

Each engine reads the same Parquet table of the ingested shape (an integer id, the outcome, 12
numeric and 3 text columns), gives every row its part from SplitMix64 of its id in plain 64-bit
integer arithmetic (the split stage's hash, written in each engine's own expressions), writes
the three parts as Parquet and counts rows and bad rows per part. Each engine runs in a process
of its own: wall time and peak resident memory (``wait4``); the counts must agree row for row.
polars and DuckDB are not dependencies of limitlab; run with them added for this run only:

    uv run --with polars --with duckdb python benchmarks/bench_engines.py [ROWS]   (10,000,000)

Prints figures only; nothing here is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEED, VALID, TEST = 42, 0.2, 0.2
GOLDEN, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
NAMES = ("train", "valid", "test")
PART_ROWS = 1_000_000


def write_table(path: Path, rows: int) -> None:
    """A Parquet table of the ingested shape, written part by part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    levels = np.array(["owner", "rent", "parents", "other", "private"], dtype=object)
    writer = None
    for start in range(0, rows, PART_ROWS):
        n = min(PART_ROWS, rows - start)
        columns = {"id": np.arange(start, start + n, dtype=np.int64) * 7919 + 13,
                   "_row": np.arange(start + 1, start + n + 1, dtype=np.int64),
                   "_bad": (rng.random(n) < 0.085).astype(np.int64)}  # fmt: skip
        columns |= {f"x{i}": rng.lognormal(6, 1, n).round(2) for i in range(12)}
        columns |= {f"c{i}": levels[rng.integers(0, len(levels), n)] for i in range(3)}
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def run_limitlab(source: Path, out: Path) -> dict:
    from limitlab.config import SplitParams
    from limitlab.data.specs import DatasetSpec
    from limitlab.data.split import split_file

    spec = DatasetSpec(name="bench", path=str(source), target="_bad", bad_value=1, id="id")
    params = SplitParams(seed=SEED, valid_size=VALID, test_size=TEST)
    targets = {name: out / f"{name}.parquet" for name in NAMES}
    found = split_file(source, targets, spec, params)
    return {n: [v["rows"], round(v["bad_rate"] * v["rows"])] for n, v in found.items()}


def run_polars(source: Path, out: Path) -> dict:
    import polars as pl

    def mix(z: pl.Expr) -> pl.Expr:  # SplitMix64's finaliser; UInt64 products wrap
        z = z + pl.lit(GOLDEN, pl.UInt64)
        z = (z.xor(z // (1 << 30))) * pl.lit(M1, pl.UInt64)
        z = (z.xor(z // (1 << 27))) * pl.lit(M2, pl.UInt64)
        return z.xor(z // (1 << 31))

    key = pl.col("id").cast(pl.UInt64)
    unit = (mix(mix(key).xor(pl.lit(SEED, pl.UInt64))) // (1 << 11)).cast(pl.Float64) / 2.0**53
    part = pl.when(unit < TEST).then(2).when(unit < TEST + VALID).then(1).otherwise(0)
    frame = pl.scan_parquet(source).with_columns(_part=part)
    sinks = [frame.filter(pl.col("_part") == code).drop("_part")
             .sink_parquet(out / f"{name}.parquet", lazy=True)
             for code, name in enumerate(NAMES)]  # fmt: skip
    pl.collect_all(sinks, engine="streaming")
    counts = {}
    for name in NAMES:
        got = pl.scan_parquet(out / f"{name}.parquet").select(pl.len(), pl.col("_bad").sum())
        rows, bad = got.collect(engine="streaming").row(0)
        counts[name] = [int(rows), int(bad)]
    return counts


def run_duckdb(source: Path, out: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    # 64-bit wrapping products in 128-bit integers, by 32-bit halves (DuckDB checks overflow)
    lo, two32, two64 = "4294967295::HUGEINT", "4294967296::HUGEINT", f"'{2**64}'::HUGEINT"
    con.execute(f"""CREATE MACRO mulmod(a, c) AS (((((a >> 32) * (c & {lo}) + (a & {lo})
                    * (c >> 32)) % {two32}) * {two32} + (a & {lo}) * (c & {lo})) % {two64})""")

    def mix(key: str, tag: str) -> list[tuple[str, str]]:  # SplitMix64's finaliser
        z0, z1, z2 = f"_{tag}0", f"_{tag}1", f"_{tag}2"
        return [(z0, f"({key} + '{GOLDEN}'::HUGEINT) % {two64}"),
                (z1, f"mulmod(xor({z0}, {z0} >> 30), '{M1}'::HUGEINT)"),
                (z2, f"mulmod(xor({z1}, {z1} >> 27), '{M2}'::HUGEINT)"),
                (f"_{tag}", f"xor({z2}, {z2} >> 31)")]  # fmt: skip

    steps = [*mix("id::HUGEINT", "a"), ("_s", f"xor(_a, {SEED}::HUGEINT)"), *mix("_s", "b")]
    query = f"SELECT * FROM read_parquet('{source}')"
    for name, expression in steps:  # each value computed once, in a query of its own
        query = f"SELECT *, {expression} AS {name} FROM ({query})"
    unit = "(_b >> 11)::DOUBLE / 9007199254740992.0"
    part = f"CASE WHEN {unit} < {TEST} THEN 2 WHEN {unit} < {TEST + VALID} THEN 1 ELSE 0 END"
    temporary = ", ".join(name for name, _ in steps)
    con.execute(f"""
        COPY (SELECT * EXCLUDE ({temporary}), {part} AS _part FROM ({query}))
        TO '{out}' (FORMAT parquet, PARTITION_BY (_part))
    """)
    rows = con.execute(f"""
        SELECT _part, count(*), sum(_bad) FROM read_parquet('{out}/*/*.parquet',
        hive_partitioning = true) GROUP BY _part
    """).fetchall()
    return {NAMES[int(code)]: [int(n), int(bad)] for code, n, bad in rows}


ENGINES = {"limitlab (pyarrow + numpy)": run_limitlab, "polars (streaming)": run_polars,
           "DuckDB": run_duckdb}  # fmt: skip


def timed_engine(name: str, source: Path, out: Path) -> tuple[float, float, dict]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--run", name, str(source), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    assert proc.stdout is not None and proc.stderr is not None
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr.read().decode()[-3000:]}")
    counts = json.loads(proc.stdout.read().decode().strip().splitlines()[-1])
    return seconds, usage.ru_maxrss / 1024**2, counts


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ingested.parquet"
        write_table(source, rows)
        size = source.stat().st_size / 1024**2
        print(f"split of {rows:,} rows ({size:,.0f} MB of Parquet), 2 cores; each engine in a "
              "process of its own")  # fmt: skip
        print(f"{'engine':28} {'wall':>8} {'peak memory':>12}   rows per part (train/valid/test)")
        found = {}
        for name in ENGINES:
            out = Path(tmp) / name.split()[0]
            out.mkdir()
            seconds, peak, counts = timed_engine(name, source, out)
            found[name] = counts
            parts = " / ".join(f"{counts[n][0]:,}" for n in NAMES)
            print(f"{name:28} {seconds:7.1f}s {peak:9.2f} GB   {parts}")
        same = all(c == next(iter(found.values())) for c in found.values())
        print(f"same rows and bad rows in every part from every engine: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        result = ENGINES[sys.argv[2]](Path(sys.argv[3]), Path(sys.argv[4]))
        print(json.dumps(result))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
