"""``limitlab generate``: the synthetic portfolio or the behavioural account panel."""

from __future__ import annotations

import shutil

from limitlab.config import Params
from limitlab.data.accounts import generate_accounts
from limitlab.data.specs import SYNTHETIC_DIR
from limitlab.data.synthetic import generate

PARAMS = ("data.dataset", "data.synthetic", "data.accounts")
CODE = ("config.py", "data", "errors.py", "io.py")


def run(params: Params) -> dict:
    """Write ``data/synthetic``: Parquet parts (``synthetic``), the panel and its snapshots
    (``behavioural``), or a one-line note for any other data set."""
    out = SYNTHETIC_DIR
    if params.data.dataset == "behavioural":
        return generate_accounts(params.data.accounts, out)
    if params.data.dataset != "synthetic":
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        (out / "README.txt").write_text(
            f"Not generated: data.dataset is {params.data.dataset!r}, not 'synthetic'.\n"
        )
        return {"rows": 0}
    return generate(params.data.synthetic, out)
