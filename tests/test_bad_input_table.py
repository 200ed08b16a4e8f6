"""A table of bad inputs: each is refused in one line that names the file, key, column or row,
and the value; no row is lost (rows read = kept + quarantined) and nothing is misread."""

from __future__ import annotations

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
