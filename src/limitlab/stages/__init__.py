"""The pipeline stages, one module each, in ``dvc.yaml`` order.

Every stage module is thin: it reads its inputs, calls the domain packages and writes its
outputs. It declares what it reads in two constants, which ``dvc.yaml`` must repeat exactly
(a test holds the two together, and holds the constants to the module's code):

- ``PARAMS``: the ``params.yaml`` sections (``"limits"``) or keys (``"train.monotone"``) read;
- ``CODE``: the source it runs, relative to ``src/limitlab`` (``"data"``, ``"config.py"``).

and one function, ``run(params)``, which is ``limitlab <stage>``.
"""

STAGES: dict[str, str] = {
    "generate": "Write the synthetic portfolio or the behavioural account panel.",
    "ingest": "Validate raw data; write kept rows and a quarantine of refused rows with reasons.",
    "split": "Split kept rows into train / validation / test (by a hash of the key, or by date).",
    "features": "Fit the feature pipeline on train and transform every split.",
    "tune": "Tune XGBoost with Optuna: a resumable study, shared by N worker processes.",
    "train": "Fit every model family; choose and calibrate the champion out of fold.",
    "evaluate": "Test metrics for every model family; data for the ROC, calibration, KS plots.",
    "need": "Fit expected-utilisation and CCF models on the account panel (behavioural data).",
    "limits": "Grades and limits for the test split; band tables and optimised caps.",
    "backtest": "Replay the limit-review policy on the account panel against static limits.",
    "monitor": "Monitoring report: PSI, realised vs expected per grade, stress, migration.",
    "fairness": "Fairness per protected group: approval (AIR), limits and PD (SMD), proxies.",
    "register": "Log the pipeline execution to MLflow and register the model.",
}
