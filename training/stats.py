"""`python -m training stats`: what a labelled data set holds, to check balance before training.

Rows per source, label shares per head, and for stance how targets appear: named and found in the
text, named but not found, or asked as a question — the data card's balance goals are read off here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from training.data import HEADS, Example
from training.targets import find_mention, is_question


def data_stats(examples: Sequence[Example]) -> dict[str, Any]:
    """Counts and shares of a data set; JSON-serialisable."""
    stance_rows = [e for e in examples if e.stance]
    kinds = Counter(_target_kind(e) for e in stance_rows)
    mentioned_neutral = sum(1 for e in stance_rows if e.stance == "neutral" and _target_kind(e) == "mentioned")
    heads = {}
    for head, labels in HEADS.items():
        counts = Counter(e.label(head) for e in examples if e.label(head))
        total = sum(counts.values())
        heads[head] = {"rows": total, "shares": {lab: _share(counts[lab], total) for lab in labels}}
    return {
        "rows": len(examples),
        "by_source": dict(sorted(Counter(e.source or "unknown" for e in examples).items())),
        "mean_words": round(sum(len(e.text.split()) for e in examples) / max(len(examples), 1), 1),
        "heads": heads,
        "stance_targets": {k: _share(kinds[k], len(stance_rows)) for k in ("mentioned", "not_found", "question")},
        "stance_mentioned_neutral": _share(mentioned_neutral, len(stance_rows)),
    }


def format_stats(stats: dict[str, Any]) -> str:
    lines = [f"{stats['rows']} rows, {stats['mean_words']} words on average"]
    lines += [f"  source {source}: {n}" for source, n in stats["by_source"].items()]
    for head, h in stats["heads"].items():
        shares = "  ".join(f"{lab} {share:.1%}" for lab, share in h["shares"].items())
        lines.append(f"{head}: {h['rows']} rows  {shares}")
    t = stats["stance_targets"]
    lines.append(
        f"stance targets: mentioned {t['mentioned']:.1%}  not found {t['not_found']:.1%}  question {t['question']:.1%}"
        f"  (mentioned and neutral: {stats['stance_mentioned_neutral']:.1%} of stance rows)"
    )
    return "\n".join(lines)


def _target_kind(e: Example) -> str:
    if e.target and is_question(e.target):
        return "question"
    return "mentioned" if e.target_span or (e.target and find_mention(e.text, e.target)) else "not_found"


def _share(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0
