"""Print the README's abridged reference answer: the reference article scored by the current model.

    .venv/bin/python scripts/reference_answer.py [--models-dir models] [--model current]

The same code path as POST /v1/classify (SoMaJo segmentation, ``training.analysis.score``) with the targets
Russland (aliases Moskau, Kreml), Nordkorea (Pjöngjang), Ukraine (Kiew) and Putin. Printed: the sentences
that mention a target, with the stance entries of the targets they mention (texts shortened, scores
rounded), then the summary per target. Paste the output into the README's reference-answer block.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training import DirectoryRepository, Target  # noqa: E402
from training.analysis import analyse, segment  # noqa: E402
from training.segmentation import Segmenter  # noqa: E402

ARTICLE = REPO / "examples" / "kim_putin_waffendeal.txt"
TARGETS = [
    Target("Russland", ("Moskau", "Kreml")),
    Target("Nordkorea", ("Pjöngjang",)),
    Target("Ukraine", ("Kiew",)),
    Target("Putin"),
]
TEXT_CHARS = 66


def request_body() -> dict[str, Any]:
    """The request this answer belongs to, as a client sends it."""
    targets = [{"name": t.name, "aliases": list(t.aliases)} if t.aliases else t.name for t in TARGETS]
    return {"text": ARTICLE.read_text(encoding="utf-8"), "targets": targets}


def _rounded(scores: dict[str, float] | None) -> dict[str, float] | None:
    return {k: round(v, 2) for k, v in scores.items()} if scores else scores


def _short(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + " …"


def abridged(answer: dict[str, Any]) -> str:
    [doc] = answer["documents"]
    lines = ["{", f'  "model_version": "{answer["model_version"]}",', '  "documents": [{"id": null, "sentences": [']
    for s in doc["sentences"]:
        stance = [{**e, "scores": _rounded(e["scores"])} | {"explanation": None} for e in s["stance"] if e["mentioned"]]
        if not stance:
            continue
        sentence = {
            "index": s["index"],
            "start": s["start"],
            "end": s["end"],
            "text": _short(s["text"]),
            "boilerplate": s["boilerplate"],
            "sentiment": {"label": s["sentiment"]["label"], "scores": _rounded(s["sentiment"]["scores"])},
            "stance": [{k: v for k, v in e.items() if k != "explanation"} for e in stance],
        }
        lines.append("    " + json.dumps(sentence, ensure_ascii=False) + ",")
    lines.append("    // … sentences that mention no target: every stance entry has label null")
    summary = doc["summary"]
    stance_summary = [{**t, "mean_scores": _rounded(t["mean_scores"])} for t in summary["stance"]]
    lines.append(
        f'  ], "summary": {{"sentences": {summary["sentences"]}, "sentiment": {json.dumps(summary["sentiment"])},'
    )
    lines.append('    "stance": [')
    lines += ["      " + json.dumps(t, ensure_ascii=False) + "," for t in stance_summary]
    lines[-1] = lines[-1].rstrip(",")
    lines.append("  ]} (sentiment mean scores abridged)}]")
    lines.append("}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--model", default="current", help="a version in --models-dir, or 'current'")
    args = parser.parse_args()
    repository = DirectoryRepository(args.models_dir)
    version = repository.current() if args.model == "current" else args.model
    if version is None:
        parser.error(f"no current model in {args.models_dir}: run `python -m training train --data starter`")
    model = repository.load(version)
    docs = segment(Segmenter(), text=request_body()["text"], max_sentences=10_000)
    print(abridged(analyse(model, docs, TARGETS, explain=0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
