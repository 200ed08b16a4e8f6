"""``limitlab fairness``: approval, limits, PD, discrimination and calibration per protected
group of the test split's decisions, and how well the model's features proxy each group."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from limitlab import paths
from limitlab.config import Params, ParamsError
from limitlab.data.columns import BAD
from limitlab.data.sampling import sample_index
from limitlab.data.specs import DataError, DatasetSpec
from limitlab.errors import InputError
from limitlab.evaluation.fairness import attribute_groups, band_labels, group_table, proxy_check
from limitlab.io import read_columns, write_json
from limitlab.limits.decide import APPROVE
from limitlab.stages.common import not_applicable

PARAMS = ("fairness", "split.seed")
CODE = ("config.py", "data", "errors.py", "evaluation", "io.py", "limits", "paths.py",
        "stages/common.py")  # fmt: skip


def _feature_columns() -> list[str]:
    return [c for c in pq.read_schema(paths.features_path("test")).names if c != BAD]


def run(params: Params) -> dict:
    """Write the group table and proxy check per protected attribute, the plot data and the
    metrics (reference group, lowest AIR, flagged groups, proxy AUC per attribute)."""
    p = params.fairness
    spec = DatasetSpec.from_json(paths.SPEC)
    if not spec.protected:
        write_json(paths.PLOTS / "fairness.json", [])
        return not_applicable(paths.FAIRNESS, "fairness",
                              "no protected attribute declared (data.protected)")  # fmt: skip
    names = pq.read_schema(paths.split_path("test")).names
    absent = [c for c in spec.protected if c not in names]
    if absent:
        raise DataError(f"{paths.split_path('test')}: protected attribute(s) {absent} are not "
                        f"in the data; expected some of {names[:20]}")  # fmt: skip
    test = pd.read_parquet(paths.split_path("test"), columns=[*spec.protected, BAD])
    decisions = pd.read_parquet(paths.DECISIONS, columns=["decision", "limit", "pd"])
    matrix = read_columns(paths.features_path("test"), _feature_columns())
    groups_out, plot, metrics = [], [], {"attributes": {}}
    for column in spec.protected:
        numeric = pd.api.types.is_numeric_dtype(test[column])
        bands = (p.bands.get(column) or p.default_bands) if numeric else None
        groups = attribute_groups(test[column], bands)
        try:
            table, reference = group_table(
                groups, (decisions["decision"] == APPROVE).to_numpy(),
                decisions["limit"].to_numpy(), decisions["pd"].to_numpy(), test[BAD].to_numpy(),
                p.reference.get(column), p.min_group_size, p.air_threshold, p.smd_threshold,
                band_labels(bands) if bands else None,
            )  # fmt: skip
        except InputError as exc:
            raise ParamsError(f"fairness.reference.{column}: {exc}") from None
        member = (groups == reference).to_numpy()
        both = min(member.sum(), (~member).sum()) >= 2  # else proxy_check says one class only
        rows = sample_index(member, p.proxy_rows if both else None, params.split.seed)
        proxy = proxy_check(matrix.iloc[rows], member[rows], params.split.seed)
        groups_out += table.assign(attribute=column).to_dict("records")
        plot += table.assign(attribute=column)[["attribute", "group", "count", "approval_rate",
                                                "mean_limit"]].to_dict("records")  # fmt: skip
        judged = table[table["status"] == "judged"]
        metrics["attributes"][column] = {
            "reference": reference,
            "min_air": float(judged["air"].min()) if len(judged) else None,
            "max_abs_smd": (
                float(judged[["smd_limit", "smd_pd"]].abs().max().max()) if len(judged) else None
            ),
            "air_flagged": table.loc[table["air_flag"], "group"].tolist(),
            "smd_flagged": table.loc[table["smd_flag"], "group"].tolist(),
            "too_small": table.loc[table["status"] == "too small to judge", "group"].tolist(),
            "proxy_auc": proxy["auc"],
            "proxy_flagged": proxy["auc"] is not None and proxy["auc"] >= p.proxy_auc_threshold,
        }
        write_json(paths.FAIRNESS / f"proxy_{column}.json", proxy)
    write_json(paths.FAIRNESS / "groups.json", groups_out)
    write_json(paths.PLOTS / "fairness.json", plot)
    metrics["flags"] = sum(len(a["air_flagged"]) + len(a["smd_flagged"]) + a["proxy_flagged"]
                           for a in metrics["attributes"].values())  # fmt: skip
    write_json(paths.metrics_path("fairness"), metrics)
    return metrics
