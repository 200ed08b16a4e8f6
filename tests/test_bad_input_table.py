"""A table of bad inputs: each is refused in one line that names the file, key, column or row,
and the value; no row is lost (rows read = kept + quarantined) and nothing is misread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from limitlab.config import DataParams, ParamsError, load_params
from limitlab.data.columns import REASON
from limitlab.data.ingest import ingest
from limitlab.data.specs import DataError, resolve_spec
from limitlab.errors import LimitlabError
from limitlab.serving.pyfunc import MAX_ROWS_VARIABLE, LimitModel, Refusal, max_rows
from limitlab.serving.server import csv_as_json, read_json_body
from limitlab.serving.validate import validate_applicants

from .test_validate import scorer

HEADER = "id,status,income,debt,job,applied\n"
ROWS = [f"{i},{'bad' if i % 2 else 'good'},{50 + i},1,a,2024-01-{1 + i % 28:02d}" for i in
        range(1, 41)]  # fmt: skip

# Row-level: (bad row appended to 40 good ones, the one reason it must get)
ROW_CASES = {
    "text in a number": ("41,good,abc,1,a,2024-02-01", "income: 'abc' is not a number"),
    "negative income": ("41,good,-5,1,a,2024-02-01", "income: -5 is negative; expected >= 0"),
    "infinite income": ("41,good,inf,1,a,2024-02-01",
                        "income: inf is out of range; expected within +-1e+15"),
    "overflowing income": ("41,good,1e308,1,a,2024-02-01",
                           "income: 1e308 is out of range; expected within +-1e+15"),
    "minus infinity": ("41,good,-Infinity,1,a,2024-02-01",
                       "income: -Infinity is out of range; expected within +-1e+15; "
                       "income: -Infinity is negative; expected >= 0"),
    "unknown target": ("41,maybe,60,1,a,2024-02-01",
                       "status: target value 'maybe' is unknown; expected one of ['bad', 'good']"),
    "missing target": ("41,,60,1,a,2024-02-01", "status: target is missing"),
    "duplicate id": ("3,good,60,1,a,2024-02-01", "id: duplicate id '3'"),
    "missing id": (",good,60,1,a,2024-02-01", "id: id is missing"),
    "not a date": ("41,good,60,1,a,someday", "applied: 'someday' is not a date"),
    "impossible date": ("41,good,60,1,a,2024-02-30", "applied: '2024-02-30' is not a date"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ROW_CASES))
def test_a_bad_row_is_quarantined_with_its_reason(tmp_path: Path, case: str) -> None:
    row, reason = ROW_CASES[case]
    path = tmp_path / "apps.csv"
    path.write_text(HEADER + "\n".join([*ROWS, row]) + "\n")
    spec = resolve_spec(DataParams(dataset="custom", path=str(path), target="status",
                                   bad_value="bad", good_value="good", id="id",
                                   income="income", date="applied"))  # fmt: skip
    result = ingest(spec, 0.2)
    assert result.quarantine[REASON].tolist() == [reason]
    m = result.metrics
    assert m["rows_read"] == m["rows_kept"] + m["rows_quarantined"] == 41
    assert len(result.accepted) == 40


# File-level: (file content or bytes, data params besides path/target/bad_value, message)
FILE_CASES = {
    "empty file": (b"", {}, "the file is empty; expected a header row and data rows"),
    "header only": (HEADER.encode(), {}, "no data rows"),
    "missing declared column": ((HEADER + ROWS[0] + "\n").encode(), {"income": "salary"},
                                "declared column(s) ['salary'] not found"),
    "repeated column name": ((b"id,status,income,income\n1,good,1,2\n"), {},
                             "column name(s) ['income'] appear more than once"),
    "not utf-8": ((HEADER + "1,good,5,1,caf\xe9,2024-01-01\n").encode("latin-1"), {},
                  "is not valid utf-8; expected a utf-8 file, or set data.encoding"),
    "day/month dates": ((HEADER + "1,good,5,1,a,01/03/2024\n2,bad,5,1,a,02/03/2024\n").encode(),
                        {"date": "applied"}, "may be day/month or month/day; expected "
                        "data.date_format"),
    "bad value absent": ((HEADER + "1,good,5,1,a,2024-01-01\n").encode(), {},
                         "has no row with the bad value 'bad'"),
    "one class after refusals": ((HEADER + "1,good,5,1,a,2024-01-01\n2,bad,x,1,a,2024-01-01\n"
                                  + "".join(f"{i},good,5,1,a,2024-01-01\n" for i in range(3, 9))
                                  ).encode(), {"numeric": ["income"]}, "has one class only"),
    "unsupported type": (b"x", {"path_suffix": ".xlsx"}, "unsupported file type '.xlsx'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_a_bad_file_is_one_refusal_naming_it(tmp_path: Path, case: str) -> None:
    content, extra, message = FILE_CASES[case]
    path = tmp_path / f"apps{extra.pop('path_suffix', '.csv')}"
    path.write_bytes(content)
    spec = resolve_spec(DataParams(dataset="custom", path=str(path), target="status",
                                   bad_value="bad", **extra))  # fmt: skip
    with pytest.raises(DataError) as refused:
        ingest(spec, 0.2)
    text = str(refused.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


# (a change to the repository's params, or a whole file's text; the message)
PARAMS_CASES = {
    "unknown key": ({"split": {"sed": 1}}, "split.sed: unknown key"),
    "wrong type": ({"split": {"seed": "forty"}}, "split.seed"),
    "share out of range": ({"split": {"test_size": 1.5}}, "split.test_size"),
    "unknown dataset": ({"data": {"dataset": "nope"}}, "unknown dataset 'nope'"),
    "unknown encoding": ({"data": {"encoding": "klingon"}}, "encoding 'klingon' is unknown"),
    "unordered thresholds": ({"review": {"increase_max_pd": 0.5}}, "increase_max_pd 0.5"),
    "duplicate key": ("split:\n  seed: 1\n  seed: 2\n", 'found duplicate key "seed"'),
    "yaml syntax": ("split:\n  seed: [1\n", "not valid YAML at line 3, column 1"),
    "tab indentation": ("split:\n\tseed: 1\n", "not valid YAML at line 2, column 1"),
    "not a mapping": ("- a\n- b\n", "expected a mapping of sections"),
}


@pytest.mark.parametrize("case", list(PARAMS_CASES))
def test_bad_params_are_one_refusal_naming_the_key(tmp_path: Path, case: str) -> None:
    change, message = PARAMS_CASES[case]
    path = tmp_path / "params.yaml"
    if isinstance(change, str):
        path.write_text(change)
    else:
        params = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
        for section, values in change.items():
            params[section].update(values)
        path.write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ParamsError) as refused:
        resolve_spec(load_params(path).data)
    assert message in str(refused.value)
    assert str(refused.value).startswith(str(path)) or "data.dataset" in str(refused.value)


REQUEST_CASES = {
    "text in a number": ({"Income": "abc"}, "Income: 'abc' is not a number"),
    "negative": ({"Income": -1.0}, "Income: -1.0 is negative; expected >= 0"),
    "infinite": ({"Income": np.inf}, "Income: inf is out of range; expected within +-1e+15"),
    "overflowing": ({"Debt": 1e300}, "Debt: 1e+300 is out of range; expected within +-1e+15"),
    "bool in a number": ({"Income": True}, "Income: 'True' is not a number"),
}


@pytest.mark.parametrize("case", list(REQUEST_CASES))
def test_a_bad_request_row_is_refused_with_row_field_and_value(case: str) -> None:
    change, reason = REQUEST_CASES[case]
    frame = pd.DataFrame([{"Income": 100.0, "Debt": 0.0, "Job": "a"}] * 2, dtype=object)
    for column, value in change.items():
        frame.loc[1, column] = value
    _, reasons = validate_applicants(frame, scorer())
    assert reasons.tolist() == ["", reason]


def test_a_request_without_a_required_column_names_it() -> None:
    frame = pd.DataFrame([{"Income": 100.0, "Job": "a"}])
    with pytest.raises(LimitlabError, match=r"missing required column\(s\) \['Debt'\]"):
        validate_applicants(frame, scorer())


# The model server, before MLflow parses the body: (body, content type, status, message)
GOOD_RECORD = '{"Income": 100, "Debt": 0, "Job": "a"}'
BODY_CASES = {
    "malformed json": (b"{not json", "application/json", 400,
                       "request body is not valid JSON: Expecting property name enclosed in "
                       "double quotes at line 1 column 2"),
    "empty body": (b"", "application/json", 400,
                   "request body is not valid JSON: Expecting value at line 1 column 1"),
    "json list": (b"[1, 2]", "application/json", 400, "got a JSON list"),
    "no table key": (b'{"rows": []}', "application/json", 400,
                     "expected exactly one of the keys ['dataframe_split', 'dataframe_records'], "
                     "got keys ['rows']"),
    "two table keys": (b'{"dataframe_split": {}, "dataframe_records": []}', "application/json",
                       400, "expected exactly one of the keys"),
    "split without columns": (b'{"dataframe_split": {"data": [[1]]}}', "application/json", 400,
                              "the column names are missing"),
    "records not objects": (b'{"dataframe_records": [1, 2]}', "application/json", 400,
                            'expected "dataframe_records" to be a list of objects'),
    "repeated json column": (b'{"dataframe_split": {"columns": ["Income", "Income"], '
                             b'"data": [[1, 2]]}}', "application/json", 400,
                             "column(s) ['Income'] appear more than once"),
    "too many rows": (('{"dataframe_records": [' + ", ".join([GOOD_RECORD] * 4) + "]}").encode(),
                      "application/json", 413, "4 rows in one request; the limit is 3"),
    "csv not utf-8": ("Income,Debt,Job\n1,0,caf\xe9\n".encode("latin-1"), "text/csv", 400,
                      "request body is not UTF-8 (byte 23); expected UTF-8 CSV"),
    "csv unterminated quote": (b'Income,Debt,Job\n1,0,"a\n', "text/csv", 400,
                               "request body cannot be read as CSV (Error tokenizing data"),
    "repeated csv column": (b"Income,Income,Job\n1,2,a\n", "text/csv", 400,
                            "column(s) ['Income'] appear more than once"),
    "too many csv rows": (b"Income,Debt,Job\n" + b"1,0,a\n" * 4, "text/csv", 413,
                          "4 rows in one request; the limit is 3"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BODY_CASES))
def test_a_bad_request_body_is_one_refusal_without_the_rows(case: str) -> None:
    body, content_type, status, message = BODY_CASES[case]
    refused = csv_as_json(body, limit=3) if content_type == "text/csv" else read_json_body(body, 3)
    assert isinstance(refused, tuple), refused
    assert refused[0] == status and message in refused[1] and "\n" not in refused[1]
    assert "caf" not in refused[1] and "Income,Debt" not in refused[1]


def test_a_good_csv_body_goes_on_as_text_for_the_model_to_check() -> None:
    passed = csv_as_json(b"Income,Debt,Job\n1e400,,a\n", limit=3)
    assert isinstance(passed, bytes)
    table = json.loads(passed)["dataframe_split"]
    assert table == {"columns": ["Income", "Debt", "Job"], "data": [["1e400", None, "a"]]}
    assert read_json_body(passed, 3) == json.loads(passed)


def test_a_refusal_from_the_model_keeps_its_message_and_status() -> None:
    refusal = Refusal("row 0: Income: -1 is negative; expected >= 0", 400)
    refusal.message = f"Failed to predict data '{GOOD_RECORD}'. \nError: {refusal.message}"
    assert refusal.message == "row 0: Income: -1 is negative; expected >= 0"
    assert json.loads(refusal.serialize_as_json())["message"] == refusal.message
    assert "stack_trace" not in refusal.serialize_as_json()
    assert Refusal("too many", 413).get_http_status_code() == 413


def test_the_served_model_refuses_more_rows_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = LimitModel()
    model.scorer = scorer()
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "2")
    model.max_rows = max_rows()
    frame = pd.DataFrame([{"Income": 1.0, "Debt": 0.0, "Job": "a"}] * 3)
    with pytest.raises(Refusal) as refused:
        model.predict(None, frame)
    assert refused.value.get_http_status_code() == 413
    assert refused.value.message.startswith("3 rows in one request; the limit is 2")
    monkeypatch.setenv(MAX_ROWS_VARIABLE, "many")
    with pytest.raises(LimitlabError, match="LIMITLAB_SERVE_MAX_ROWS='many'; expected a positive"):
        max_rows()


def test_a_defect_while_scoring_is_a_500_without_the_trace() -> None:
    model = LimitModel()
    model.scorer = scorer()  # no fitted model: scoring a valid row fails inside
    with pytest.raises(Refusal) as refused:
        model.predict(None, pd.DataFrame([{"Income": 1.0, "Debt": 0.0, "Job": "a"}]))
    assert refused.value.get_http_status_code() == 500
    assert refused.value.message == "internal error while scoring; see the server log"
