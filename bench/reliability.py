"""Reliability diagram: per head, accuracy against confidence per bin, before and after calibration.

Drawn by bench/quality_starter.py (``--diagram``) from the starter model's dev predictions;
matplotlib is a dev dependency, imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from training.calibration import BINS, reliability

Curve = tuple[str, np.ndarray, Sequence[str], Sequence[str]]  # name, proba, labels, gold


def draw(curves: Mapping[str, Sequence[Curve]], path: Path, title: str) -> None:
    """One panel per head; each curve's ECE in its legend; bin sizes as marker areas."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 5.2), squeeze=False)
    for ax, (head, head_curves) in zip(axes[0], curves.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
        for name, proba, labels, gold in head_curves:
            r = reliability(proba, labels, gold, BINS)
            used = r.count > 0
            sizes = 400 * r.count[used] / max(r.count.sum(), 1)
            line = ax.plot(r.confidence[used], r.accuracy[used], marker="", label=f"{name}: ECE {r.ece:.3f}")[0]
            ax.scatter(r.confidence[used], r.accuracy[used], s=sizes, color=line.get_color(), alpha=0.6)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top label's probability)", ylabel="accuracy")
        ax.set_title(f"{head} ({BINS} bins; marker area = share of rows)")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
