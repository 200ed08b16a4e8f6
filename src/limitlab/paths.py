"""Where each stage reads and writes, relative to the project root (the folder of dvc.yaml)."""

from pathlib import Path

INTERIM = Path("data/interim")
PROCESSED = Path("data/processed")
MODELS = Path("models")
REPORTS = Path("reports")
METRICS = REPORTS / "metrics"
PLOTS = REPORTS / "plots"

SPEC = INTERIM / "spec.json"
ACCEPTED = INTERIM / "accepted.parquet"
QUARANTINE = INTERIM / "quarantine.parquet"
SPLITS = INTERIM / "splits"
FEATURES_MODEL = MODELS / "features.joblib"
TUNE_DIR = MODELS / "tune"
STUDY_JOURNAL = TUNE_DIR / "study.journal"
BEST_PARAMS = TUNE_DIR / "best_params.json"
TRIALS = TUNE_DIR / "trials.json"
ADDITIVE_BEST_PARAMS = TUNE_DIR / "additive_best_params.json"  # the additive family's study
ADDITIVE_TRIALS = TUNE_DIR / "additive_trials.json"
LINEAR_BEST_PARAMS = TUNE_DIR / "linear_best_params.json"  # the scorecard's and logistic's studies
LINEAR_TRIALS = TUNE_DIR / "linear_trials.json"
TUNE_TIMINGS = TUNE_DIR / "timings.json"  # when and how long: kept out of DVC's outputs
TRAIN_DIR = MODELS / "train"
LIMITS = REPORTS / "limits"
DECISIONS = LIMITS / "decisions.parquet"
POLICY = LIMITS / "policy.json"
REASON_CATALOGUE = LIMITS / "reason_catalogue.json"  # code, kind, text of every reason
REGISTERED = REPORTS / "register.json"  # run id, version, gates: differ per run, not an output
MODEL_CARD = REPORTS / "model_card.md"  # the registered version's card: differs per run
REGISTERED_BUNDLE = REPORTS / "register" / "bundle.json"  # what was registered: the output

SPLIT_NAMES = ("train", "valid", "test")


def split_path(name: str) -> Path:
    return SPLITS / f"{name}.parquet"


def features_path(name: str) -> Path:
    return PROCESSED / f"{name}.parquet"


def metrics_path(stage: str) -> Path:
    return METRICS / f"{stage}.json"


CHAMPION = TRAIN_DIR / "champion.joblib"
POINTS_TABLE = TRAIN_DIR / "scorecard_points.json"
ADDITIVE_POINTS = TRAIN_DIR / "additive_points.json"  # the additive family's steps as points
OUT_OF_FOLD = TRAIN_DIR / "out_of_fold.parquet"  # each family's out-of-fold PD of the train rows


def model_path(family: str) -> Path:
    return TRAIN_DIR / f"{family}.joblib"


BACKTEST = REPORTS / "backtest"
NEED_DIR = MODELS / "need"  # the need and usage models
NEED_REPORT = REPORTS / "need"
NEED_TEST_OUTCOMES = NEED_REPORT / "test_outcomes.parquet"  # the test rows' outcomes, predictions
MONITOR = REPORTS / "monitor"
FAIRNESS = REPORTS / "fairness"
REVIEW_DECISIONS = LIMITS / "review.parquet"
