"""Ingest: file-level errors stop with a clear message; row-level problems go to quarantine."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from limitlab.config import DataParams
from limitlab.data.columns import BAD, REASON
from limitlab.data.ingest import check_quarantine_share, ingest
from limitlab.data.specs import DataError, resolve_spec

REPO = Path(__file__).resolve().parents[1]


def custom(path: Path, **roles) -> object:
    return resolve_spec(
        DataParams(dataset="custom", path=str(path), target="status", bad_value="bad", **roles)
    )


def write(tmp_path: Path, text: str, name: str = "apps.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "id,status,income,debt,job\n1,good,100,5,a\n2,bad,50,0,b\n3,good,80,,a\n4,bad,70,2,b\n"


def test_clean_file_keeps_every_row_and_infers_types(tmp_path: Path) -> None:
    result = ingest(custom(write(tmp_path, GOOD), id="id", income="income"), 0.2)
    assert result.metrics["rows_read"] == 4
    assert result.metrics["rows_kept"] == 4 and result.metrics["rows_quarantined"] == 0
    assert result.spec.good_value == "good"
    assert "debt" in result.spec.numeric and "job" in result.spec.categorical
    assert result.accepted[BAD].tolist() == [0, 1, 0, 1]
    assert result.accepted["income"].dtype == "float64"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.csv: data file not found"):
        ingest(custom(tmp_path / "absent.csv"), 0.2)


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the file is empty"):
        ingest(custom(write(tmp_path, "")), 0.2)
    with pytest.raises(DataError, match="no data rows"):
        ingest(custom(write(tmp_path, "status,income\n", "h.csv")), 0.2)


def test_missing_target_or_declared_column(tmp_path: Path) -> None:
    path = write(tmp_path, "outcome,income\ngood,1\nbad,2\n")
    with pytest.raises(DataError, match=r"declared column\(s\) \['status'\] not found"):
        ingest(custom(path), 0.2)
    with pytest.raises(DataError, match=r"\['salary'\] not found.*columns \['id'"):
        ingest(custom(write(tmp_path, GOOD, "g.csv"), income="salary"), 0.2)


def test_one_class_target_stops(tmp_path: Path) -> None:
    path = write(tmp_path, "status,income\nbad,1\nbad,2\n")
    with pytest.raises(DataError, match="one good value besides 'bad'"):
        ingest(custom(path), 0.2)
    no_bad = write(tmp_path, "status,income\ngood,1\ngood,2\n", "g.csv")
    with pytest.raises(DataError, match="no row with the bad value 'bad'"):
        ingest(custom(no_bad), 0.2)


def test_unknown_target_values_are_quarantined(tmp_path: Path) -> None:
    text = GOOD + "5,maybe,60,1,a\n6,,60,1,a\n"
    result = ingest(custom(write(tmp_path, text), good_value="good"), 0.5)
    q = result.quarantine
    assert q["_row"].tolist() == [5, 6]
    assert "target value 'maybe' is unknown" in q.loc[0, REASON]
    assert "target is missing" in q.loc[1, REASON]
    assert result.metrics["quarantine_reasons"] == {"status:missing": 1, "status:unknown_target": 1}


def forty_good_rows_and(tmp_path: Path, bad_rows: list[str]) -> tuple[object, dict]:
    """Ingest 40 valid rows followed by ``bad_rows``; the result and reasons by row number."""
    rows = [f"{i},{'bad' if i % 2 else 'good'},{50 + i},1,a" for i in range(1, 41)]
    path = write(tmp_path, "id,status,income,debt,job\n" + "\n".join(rows + bad_rows) + "\n")
    result = ingest(custom(path, id="id", income="income"), 0.2)
    return result, dict(zip(result.quarantine["_row"], result.quarantine[REASON], strict=True))


def test_text_in_numeric_column_negative_income_and_duplicate_id(tmp_path: Path) -> None:
    result, reasons = forty_good_rows_and(
        tmp_path, ["41,good,abc,1,a", "42,bad,-10,1,b", "3,good,70,1,a"]
    )
    assert reasons == {
        41: "income: 'abc' is not a number",
        42: "income: -10 is negative; expected >= 0",
        43: "id: duplicate id '3'",
    }
    m = result.metrics
    assert m["rows_read"] == m["rows_kept"] + m["rows_quarantined"] == 43
    assert result.quarantine["income"].tolist() == ["abc", "-10", "70"]  # kept as read


def test_too_many_refused_rows_stop_the_stage(tmp_path: Path) -> None:
    text = GOOD + "5,good,x,1,a\n6,bad,y,1,a\n7,good,z,1,a\n"
    result = ingest(custom(write(tmp_path, text), numeric=["income"]), 0.2)
    assert result.metrics["rows_quarantined"] == 3
    with pytest.raises(DataError, match=r"3 of 7 rows refused \(42.9%\); expected at most 20.0%"):
        check_quarantine_share(result, 0.2)


def test_parquet_input_and_bundled_data(tmp_path: Path) -> None:
    frame = pd.read_csv(REPO / "data/raw/credit_scoring.csv")
    frame.to_parquet(tmp_path / "cs.parquet")
    spec = resolve_spec(DataParams(dataset="credit_scoring", path=str(tmp_path / "cs.parquet")))
    result = ingest(spec, 0.2)
    assert result.metrics["rows_read"] == len(frame) == result.metrics["rows_kept"]
    assert result.metrics["bad_rate"] == pytest.approx((frame["Status"] == "bad").mean(), abs=1e-6)


def test_date_split_is_out_of_time(tmp_path: Path) -> None:
    from limitlab.config import Params, parse_params
    from limitlab.data.split import split_frame

    rows = [f"{i},{'bad' if i % 3 == 0 else 'good'},2024-01-{1 + i % 28:02d}" for i in range(60)]
    path = write(tmp_path, "id,status,applied\n" + "\n".join(rows) + "\n")
    result = ingest(custom(path, id="id", date="applied"), 0.2)
    params: Params = parse_params(yaml_params())
    parts = split_frame(result.accepted, result.spec, params.split)
    assert parts["train"]["applied"].max() <= parts["valid"]["applied"].min()
    assert parts["valid"]["applied"].max() <= parts["test"]["applied"].min()
    assert sum(len(p) for p in parts.values()) == 60


def yaml_params() -> dict:
    import yaml

    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_infinite_and_overflowing_numbers_are_quarantined(tmp_path: Path) -> None:
    result, reasons = forty_good_rows_and(
        tmp_path, ["41,good,inf,1,a", "42,bad,1e308,1,b", "43,good,70,-Infinity,a"]
    )
    assert reasons == {
        41: "income: inf is out of range; expected within +-1e+15",
        42: "income: 1e308 is out of range; expected within +-1e+15",
        43: "debt: -Infinity is out of range; expected within +-1e+15",
    }
    assert result.metrics["quarantine_reasons"] == {"debt:out_of_range": 1,
                                                    "income:out_of_range": 2}  # fmt: skip
    assert len(result.accepted) == 40 and np.isfinite(result.accepted["income"]).all()


def test_a_file_not_in_utf8_names_the_byte_and_the_encoding_setting(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"
    path.write_bytes(GOOD.replace("a\n", "caf\xe9\n", 1).encode("latin-1"))
    with pytest.raises(DataError, match=r"byte b'\\xe9' at offset \d+ is not valid utf-8; "
                       r"expected a utf-8 file, or set data.encoding"):  # fmt: skip
        ingest(custom(path), 0.2)
    result = ingest(custom(path, encoding="latin-1"), 0.2)
    assert "café" in set(result.accepted["job"])


def test_a_repeated_column_name_is_refused_not_renamed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("debt,job", "income,job", 1))
    with pytest.raises(DataError, match=r"column name\(s\) \['income'\] appear more than once"):
        ingest(custom(path), 0.2)


def test_an_unknown_encoding_is_a_params_error() -> None:
    with pytest.raises(ValueError, match="encoding 'klingon' is unknown; expected a Python codec"):
        DataParams(dataset="custom", encoding="klingon")


def test_day_month_dates_need_a_format_and_are_read_by_it(tmp_path: Path) -> None:
    rows = [f"{i},{'bad' if i % 3 == 0 else 'good'},{1 + i % 28:02d}/03/2024" for i in range(60)]
    path = write(tmp_path, "id,status,applied\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"column 'applied' holds dates like '01/03/2024', which "
                       r"may be day/month or month/day; expected data.date_format"):  # fmt: skip
        ingest(custom(path, id="id", date="applied"), 0.2)
    result = ingest(custom(path, id="id", date="applied", date_format="%d/%m/%Y"), 0.2)
    assert set(result.accepted["applied"].dt.month) == {3}
    assert result.accepted["applied"].dt.day.max() == 28


def test_a_product_the_policy_does_not_offer_is_refused_at_ingest(tmp_path: Path) -> None:
    text = "id,status,income,product\n" + "".join(
        f"{i},{'bad' if i % 2 else 'good'},{50 + i},{'gold' if i == 7 else 'bnpl'}\n"
        for i in range(1, 41)
    )
    path = write(tmp_path, text)
    result = ingest(custom(path, id="id"), 0.2, products=("product", ["bnpl", "revolving"]))
    assert result.quarantine[REASON].tolist() == [
        "product: product 'gold' is unknown to the policy; expected one of ['bnpl', 'revolving']"
    ]
    assert result.metrics["quarantine_reasons"] == {"product:unknown_product": 1}
    with pytest.raises(DataError, match=r"declared column\(s\) \['plan'\] not found"):
        ingest(custom(path, id="id"), 0.2, products=("plan", ["bnpl"]))


def test_negative_values_in_undeclared_columns_are_kept_but_reported(tmp_path: Path) -> None:
    text = GOOD.replace("1,good,100,5,a", "1,good,100,-5,a")
    result = ingest(custom(write(tmp_path, text)), 0.2)  # no income or debt role: not refused
    assert result.metrics["rows_quarantined"] == 0
    assert result.metrics["negative_values_kept"] == {"debt": 1}
    declared = ingest(custom(write(tmp_path, text), nonnegative=["debt"]), 0.2)
    assert declared.metrics["rows_quarantined"] == 1
    assert declared.metrics["negative_values_kept"] == {}


def test_reading_part_by_part_gives_what_one_part_gives(tmp_path: Path) -> None:
    """Rows numbered across parts, a duplicate id found in a later part, counts summed: the
    same kept rows, refused rows and metrics whatever the part size."""
    rows = [
        f"{i},{'bad' if i % 3 else 'good'},{50 + i},{i % 4},{'ab'[i % 2]}" for i in range(1, 30)
    ]
    bad = ["30,good,abc,1,a", "7,bad,60,1,b", "31,maybe,60,1,a", "32,good,-5,1,a", "33,good,5,,"]
    path = write(tmp_path, "id,status,income,debt,job\n" + "\n".join(rows + bad) + "\n")
    spec = custom(path, id="id", income="income", good_value="good")
    whole = ingest(spec, 0.5)
    for size in (1, 2, 7):
        parts = ingest(spec, 0.5, batch_rows=size)
        pd.testing.assert_frame_equal(parts.accepted, whole.accepted)
        pd.testing.assert_frame_equal(parts.quarantine, whole.quarantine)
        assert parts.metrics == whole.metrics
        assert parts.spec == whole.spec
    reasons = dict(zip(whole.quarantine["_row"], whole.quarantine[REASON], strict=True))
    assert reasons[31] == "id: duplicate id '7'"
    assert whole.metrics["rows_read"] == 34 == len(whole.accepted) + len(whole.quarantine)


def test_a_parquet_folder_is_read_part_by_part_in_name_order(tmp_path: Path) -> None:
    frame = pd.read_csv(REPO / "data/raw/credit_scoring.csv")
    folder = tmp_path / "parts"
    folder.mkdir()
    for number, start in enumerate(range(0, len(frame), 1000)):
        frame.iloc[start : start + 1000].to_parquet(folder / f"part-{number:05d}.parquet")
    spec = resolve_spec(DataParams(dataset="credit_scoring", path=str(folder)))
    whole = ingest(spec, 0.2)
    parts = ingest(spec, 0.2, batch_rows=300)
    pd.testing.assert_frame_equal(parts.accepted, whole.accepted)
    assert whole.accepted["_row"].tolist() == list(range(1, len(frame) + 1))
    assert whole.accepted["Income"].tolist() == pytest.approx(
        frame["Income"].astype(float).tolist(), nan_ok=True
    )


def test_the_outcome_labels_come_from_the_whole_file(tmp_path: Path) -> None:
    """The first part holds only good rows: its labels alone would not name the bad value."""
    rows = [f"{i},good,{50 + i}" for i in range(1, 11)] + [f"{i},bad,{i}" for i in range(11, 14)]
    path = write(tmp_path, "id,status,income\n" + "\n".join(rows) + "\n")
    result = ingest(custom(path, id="id"), 0.2, batch_rows=4)
    assert result.spec.good_value == "good"
    assert result.accepted["_bad"].sum() == 3


def test_an_integer_id_repeated_in_a_later_parquet_part_is_a_duplicate(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": np.r_[np.arange(1, 21), 5, -3, -3], "status": ["good", "bad"] * 11
                          + ["bad"], "income": 50.0})  # fmt: skip
    frame.to_parquet(tmp_path / "apps.parquet")
    spec = custom(tmp_path / "apps.parquet", id="id")
    result = ingest(spec, 0.2, batch_rows=6)
    reasons = dict(zip(result.quarantine["_row"], result.quarantine[REASON], strict=True))
    assert reasons == {21: "id: duplicate id '5'", 23: "id: duplicate id '-3'"}
    assert result.accepted["id"].dtype == "int64" and len(result.accepted) == 21


def test_a_parquet_part_with_other_columns_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"status": ["good", "bad"], "income": [1.0, 2.0]}).to_parquet(
        folder / "part-0.parquet"
    )
    pd.DataFrame({"status": ["good"], "salary": [1.0]}).to_parquet(folder / "part-1.parquet")
    with pytest.raises(DataError, match=r"part-1.parquet: columns \['status', 'salary'\] differ"):
        ingest(custom(folder), 0.2)


def test_a_write_stopped_half_way_leaves_no_file_that_looks_complete(tmp_path: Path) -> None:
    from limitlab.io import ParquetSink

    target = tmp_path / "accepted.parquet"
    pd.DataFrame({"a": [1.0]}).to_parquet(target)  # an earlier run's output
    with pytest.raises(RuntimeError), ParquetSink(target) as sink:
        sink.write(pd.DataFrame({"a": [1.0, 2.0]}))
        assert not target.exists() and sink.partial.exists()  # the old file is gone at once
        raise RuntimeError("stopped")
    assert not target.exists() and not sink.partial.exists()
    with ParquetSink(target) as sink:
        sink.write(pd.DataFrame({"a": [1.0, 2.0]}))
        sink.write(pd.DataFrame({"a": [3.0]}))
    assert pd.read_parquet(target)["a"].tolist() == [1.0, 2.0, 3.0] and not sink.partial.exists()
