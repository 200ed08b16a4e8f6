"""XGBoost on a Dask cluster: ``train.engine: dask``.

The training matrix is read from Parquet with ``dask.dataframe`` and split into one partition per
worker; ``xgboost.dask`` trains on the cluster (a ``LocalCluster`` unless ``train.dask_scheduler``
names a running scheduler). The trained booster comes back as an ordinary ``XGBClassifier`` so
evaluation, limits and serving are the same for both engines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dask.dataframe as dd
import xgboost as xgb
from distributed import Client, LocalCluster
from xgboost import dask as dxgb

from limitlab.config import TrainParams
from limitlab.data.columns import BAD
from limitlab.models.families import with_booster
from limitlab.models.streamed import parquet_files


@contextmanager
def dask_client(params: TrainParams) -> Iterator[Client]:
    """A client of the scheduler in params, or of a local cluster of ``dask_workers`` processes."""
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if params.dask_scheduler:
        with Client(params.dask_scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=params.dask_workers,
            threads_per_worker=params.dask_threads_per_worker,
            processes=True,
            host="127.0.0.1",  # loopback only: a scheduler runs what any client sends it
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def fit_xgboost_dask(
    model: xgb.XGBClassifier, parquet: Path | Sequence[Path], client: Client
) -> xgb.XGBClassifier:
    """Fit ``model``'s hyper-parameters on the cluster, on every row of ``parquet`` (one file
    or several with the same columns); return a local ``XGBClassifier``."""
    files = [str(path) for path in parquet_files(parquet)]
    frame = client.persist(dd.read_parquet(files, split_row_groups=True))
    x, y = frame.drop(columns=[BAD]), frame[BAD]
    settings = {k: v for k, v in model.get_params().items() if k not in {"n_jobs", "callbacks"}}
    distributed = dxgb.DaskXGBClassifier(**settings)
    distributed.client = client
    distributed.fit(x, y)
    return with_booster(model, distributed.get_booster())
