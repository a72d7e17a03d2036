"""Neutral-prior sweep: a saved model's dev macro-F1 / ECE on every shared dev set with the neutral label's
odds multiplied by exp(b), for b in 0 … 1.5 (no retraining: the same as adding b to its logit).

    python bench/quality_prior.py MODEL_DIR [--shifts 0,0.25,0.5,0.75,1,1.5]

How STARTER_NEUTRAL_PRIOR (training/fit.py) was chosen; run it on a model trained without the prior
(e.g. `--ablate neutral_prior=0` of bench/quality_starter.py saved with --save, or an older bundle).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from quality_starter import DATA_DIR, DEV_SETS, dev_rows

from training import load_bundle
from training.calibration import expected_calibration_error
from training.evaluate import scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a bundle directory")
    parser.add_argument("--shifts", default="0,0.25,0.5,0.75,1,1.5", help="log-odds added to neutral")
    args = parser.parse_args(argv)
    shifts = [float(b) for b in args.shifts.split(",")]
    model = load_bundle(args.model)
    print("| head | dev set | " + " | ".join(f"b={b:g}: F1 / ECE" for b in shifts) + " |")
    print("|---|---|" + "---|" * len(shifts))
    for head, source in DEV_SETS:
        rows, y = dev_rows(head, source, DATA_DIR)
        proba = model.predict_proba(head, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        labels = model.labels(head)
        cells = []
        for b in shifts:
            shifted = proba * np.exp(b * (np.array(labels) == "neutral"))
            shifted /= shifted.sum(axis=1, keepdims=True)
            predicted = [labels[i] for i in shifted.argmax(axis=1)]
            f1 = scores(y, predicted)["macro_f1"]
            cells.append(f"{f1:.3f} / {expected_calibration_error(shifted, labels, y):.3f}")
        print(f"| {head} | {source} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
