"""PD model families and Optuna tuning."""
