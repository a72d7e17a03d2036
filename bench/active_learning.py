"""Does the review queue pay off? Labels chosen by the queue vs at random, 50 at a time, learning curves.

Start from the default model's training data (the starter corpus, the deterministic 80% slice `make run`
trains on), then add gold labels from one shared train split `--step` at a time — chosen by the queue
(`training.active.pick`: margin uncertainty with the TF-IDF diversity step, as `GET /v1/pool/next` picks
them) or at random — retrain that head, and score the source's dev split (macro-F1). Each retrain fits one
FIXED hyper-parameter point (the default model's choice: C=8, window=3, lexicon on, the default space's
fixed choices, no search and no calibration), so a point costs seconds. Each seed draws its own 80% of the
train split as the unlabelled pool (and the random order); the dev split is never a candidate.

    nice -n 10 .venv/bin/python bench/active_learning.py [--sources gerntsa sb10k] [--max 1000] [--seeds 0 1 2]

Points are appended to bench/out/active_learning.jsonl as they finish (a rerun resumes); the plot goes to
bench/active_learning.png and the figures into the "Active learning" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import OUT, ROOT, SHARED, machine_description, write_section
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from training.active import pick
from training.data import Example, read_examples
from training.features import build_pipeline, used_columns
from training.fit import DEFAULT_SPACE, _fixed, head_rows
from training.model import HaltungModel
from training.train import split_holdout

HEADS = {"gerntsa": "stance", "sb10k": "sentiment", "germeval2017": "sentiment", "potts": "sentiment"}
FIXED = {"C": 8.0, "window": 3, "lexicon": True}  # the default model's search result (models/*/manifest.json)
POOL_FRACTION = 0.8
POINTS = Path(OUT / "active_learning.jsonl")
PNG = ROOT / "bench" / "active_learning.png"
SECTION = "Active learning: the review queue vs random labels (issue 12)"


@dataclass(frozen=True)
class Task:
    source: str
    head: str
    base: list[Example]  # the starter rows of this head
    train: list[Example]
    dev: list[Example]


def load(source: str) -> Task:
    head = HEADS[source]
    starter, _ = split_holdout(read_examples(["starter"]), 0.2, 0)  # what the default model trains on
    base = [e for e in starter if e.label(head) is not None]
    train, dev = (read_examples([SHARED / source / f"{split}.jsonl"]) for split in ("train", "dev"))
    return Task(source, head, base, [e for e in train if e.label(head)], [e for e in dev if e.label(head)])


def fit(head: str, examples: Sequence[Example]) -> HaltungModel:
    """One head at the fixed point: a plain fit, no search, no calibration."""
    rows, y = head_rows(examples, head)
    pipeline = build_pipeline(used_columns(rows, head), seed=0, **FIXED, **_fixed(DEFAULT_SPACE))
    with threadpool_limits(limits=1):
        pipeline.fit(rows, y)
    return HaltungModel(heads={head: pipeline})


def inputs(head: str, examples: Sequence[Example]) -> tuple[list[str], list[str | None] | None, list[Any] | None]:
    """Texts, and for stance the row's own target and known mention span (as evaluation reads them)."""
    texts = [e.text for e in examples]
    if head != "stance":
        return texts, None, None
    return texts, [e.target for e in examples], [e.target_span for e in examples]


def dev_f1(model: HaltungModel, task: Task) -> float:
    texts, targets, spans = inputs(task.head, task.dev)
    predicted = [p.label for p in model.predict(task.head, texts, targets, spans)]
    truth = [str(e.label(task.head)) for e in task.dev]
    return round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4)


def queue_batch(model: HaltungModel, task: Task, candidates: list[Example], k: int) -> list[Example]:
    texts, targets, spans = inputs(task.head, candidates)
    proba = model.predict_proba(task.head, texts, targets, spans)
    return [candidates[p.index] for p in pick(texts, proba, model.labels(task.head), k)]


def pool_of(task: Task, seed: int) -> list[Example]:
    """This seed's unlabelled pool: a random 80% of the train split, in a random order."""
    return random.Random(f"{task.source}-{seed}").sample(task.train, round(POOL_FRACTION * len(task.train)))


def queue_curve(task: Task, seed: int, step: int, most: int, done: set[int]) -> None:
    """Let the queue pick `step` labels, retrain, repeat up to `most`; record every point not in `done`."""
    candidates, chosen = pool_of(task, seed), []
    model = fit(task.head, task.base)
    while len(chosen) < most:
        batch = queue_batch(model, task, candidates, step)
        taken = {id(e) for e in batch}
        candidates = [e for e in candidates if id(e) not in taken]
        chosen += batch
        model = fit(task.head, task.base + chosen)
        if len(chosen) not in done:
            record(task, "queue", seed, len(chosen), dev_f1(model, task))


def random_points(task: Task, seed: int, counts: Sequence[int], done: set[int]) -> None:
    """The first n of the seed's shuffled pool, for every n in `counts` (independent fits, in that order)."""
    candidates = pool_of(task, seed)
    for n in counts:
        if n not in done:
            record(task, "random", seed, n, dev_f1(fit(task.head, task.base + candidates[:n]), task))


def record(task: Task, strategy: str, seed: int, labels: int, f1: float) -> None:
    point = {"source": task.source, "head": task.head, "strategy": strategy, "seed": seed, "labels": labels, "f1": f1}
    POINTS.parent.mkdir(parents=True, exist_ok=True)
    with POINTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(point) + "\n")
    print(json.dumps(point), flush=True)


def measured() -> list[dict[str, Any]]:
    """The points so far, one per (source, strategy, seed, labels): runs in parallel may repeat one."""
    if not POINTS.exists():
        return []
    points: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in POINTS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            p = json.loads(line)
            points.setdefault((p["source"], p["strategy"], p["seed"], p["labels"]), p)
    return list(points.values())


def run(sources: Sequence[str], seeds: Sequence[int], plan: dict[str, list[int]]) -> None:
    """Every point of `plan` (strategy → label counts) not measured yet, seed by seed."""
    tasks = {source: load(source) for source in sources}
    for source, task in tasks.items():
        if not any(p["source"] == source and p["labels"] == 0 for p in measured()):
            f1 = dev_f1(fit(task.head, task.base), task)
            for strategy in ("queue", "random"):
                record(task, strategy, -1, 0, f1)  # the starting point, shared by every seed
    for seed in seeds:
        for source, task in tasks.items():
            for strategy, counts in plan.items():
                key = (source, strategy, seed)
                done = {p["labels"] for p in measured() if (p["source"], p["strategy"], p["seed"]) == key}
                if set(counts) <= done:
                    continue
                if strategy == "queue":
                    queue_curve(task, seed, counts[0], max(counts), done)
                else:
                    random_points(task, seed, counts, done)


# --- the report ----------------------------------------------------------------------------------------------


def seeds_of(points: list[dict[str, Any]], source: str, strategy: str) -> list[int]:
    return sorted({p["seed"] for p in points if (p["source"], p["strategy"]) == (source, strategy) and p["seed"] >= 0})


def curves(points: list[dict[str, Any]], source: str, strategy: str) -> dict[int, list[float]]:
    """labels → dev macro-F1 per seed (the shared starting point counts once per seed)."""
    seeds = seeds_of(points, source, strategy)
    out: dict[int, list[float]] = {}
    for p in points:
        if (p["source"], p["strategy"]) == (source, strategy):
            out.setdefault(p["labels"], []).extend([p["f1"]] * (max(len(seeds), 1) if p["seed"] < 0 else 1))
    return dict(sorted(out.items()))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def summary(points: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """Both curves, the goal (random's mean at its largest point measured for all its seeds) and the fewest
    queue labels whose mean (over all the queue's seeds) reaches it."""
    queue, rand = curves(points, source, "queue"), curves(points, source, "random")
    queue_seeds, random_seeds = seeds_of(points, source, "queue"), seeds_of(points, source, "random")
    full = [n for n in rand if n > 0 and len(rand[n]) == len(random_seeds)]
    last = max(full) if full else 0
    goal = mean(rand[last]) if full else None
    reached = next(
        (n for n in queue if len(queue[n]) == len(queue_seeds) and goal is not None and mean(queue[n]) >= goal), None
    )
    complete = [n for n in queue if len(queue[n]) == len(queue_seeds)]
    return {
        "queue": queue,
        "random": rand,
        "seeds": {"queue": queue_seeds, "random": random_seeds},
        "last": last,
        "goal": goal,
        "reached": reached,
        "queue_complete": max(complete) if complete else 0,
    }


def plot(points: list[dict[str, Any]], sources: Sequence[str], path: Path) -> None:
    import matplotlib  # a dev dependency, needed only for the figure

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sources), figsize=(5.2 * len(sources), 3.8), squeeze=False)
    for ax, source in zip(axes[0], sources, strict=True):
        s = summary(points, source)
        for strategy, colour in (("queue", "tab:blue"), ("random", "tab:orange")):
            data = s[strategy]
            xs = list(data)
            ax.plot(xs, [mean(v) for v in data.values()], marker="o", ms=3, color=colour, label=strategy)
            ax.fill_between(
                xs, [min(v) for v in data.values()], [max(v) for v in data.values()], color=colour, alpha=0.2
            )
        if s["goal"] is not None:
            ax.axhline(s["goal"], ls="--", lw=0.8, color="grey", label=f"random at {s['last']}")
        seeds = s["seeds"]
        ax.set_title(
            f"{source} ({HEADS[source]}), dev; seeds: queue {len(seeds['queue'])}, random {len(seeds['random'])}"
        )
        ax.set_xlabel("labels added to the starter corpus")
        ax.set_ylabel("dev macro-F1 (mean, min-max band)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(points: list[dict[str, Any]], sources: Sequence[str], plan: dict[str, list[int]], command: str) -> str:
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` ({machine_description()}).",
        "",
        "Start: the default model's training rows (starter corpus, 80% slice, seed 0), one fixed hyper-parameter "
        f"point ({', '.join(f'{k}={v}' for k, v in FIXED.items())}; no search, no calibration) per retrain. Labels "
        "come from the source's train split (each seed: its own random 80% as the pool), chosen by the queue "
        f"{plan['queue'][0]} at a time (`training.active.pick`: margin uncertainty, TF-IDF diversity step, as "
        "`GET /v1/pool/next`; a retrain after every batch) or at random (the first n of the seed's shuffled pool, "
        f"n in {', '.join(map(str, plan['random']))}); each point retrains the head and scores the source's dev "
        "split. Figures: dev macro-F1, mean over the seeds measured (min–max). "
        "Plot: `bench/active_learning.png`.",
        "",
    ]
    for source in sources:
        s = summary(points, source)
        marks = sorted(n for n in {*s["queue"], *s["random"]} if n % 100 == 0 or n in (50, 250))
        seeds = s["seeds"]
        lines.append(f"**{source}** ({HEADS[source]}); seeds: queue {seeds['queue']}, random {seeds['random']}:")
        lines.append("")
        lines.append("| labels | " + " | ".join(str(n) for n in marks) + " |")
        lines.append("|---|" + "---:|" * len(marks))
        for strategy in ("queue", "random"):
            cells = [_cell(s[strategy].get(n)) for n in marks]
            lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
        lines.append("")
        if s["goal"] is None:
            lines.append("No complete point for every seed yet.")
        else:
            verdict = (
                f"the queue reaches it with {s['reached']} labels"
                if s["reached"] is not None
                else f"the queue does not reach it within {s['queue_complete']} labels (all its seeds)"
            )
            lines.append(f"Random with {s['last']} labels: {s['goal']:.4f}; {verdict}.")
        lines.append("")
    return "\n".join(lines)


def _cell(values: list[float] | None) -> str:
    if not values:
        return "–"
    spread = f" ({min(values):.3f}–{max(values):.3f})" if min(values) != max(values) else ""
    return f"{mean(values):.3f}{spread}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=["gerntsa", "sb10k"], choices=sorted(HEADS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--step", type=int, default=50, help="labels the queue adds per retrain")
    parser.add_argument(
        "--random-points",
        nargs="+",
        type=int,
        help="label counts of the random curve, in the order to measure them (default: every --step up to --max)",
    )
    parser.add_argument("--strategies", nargs="+", default=["queue", "random"], choices=["queue", "random"])
    parser.add_argument("--max", type=int, default=1000, dest="most")
    parser.add_argument("--report-only", action="store_true", help="plot and write RESULTS.md from the points")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument("--note", default="", help="a paragraph added to the section (how the points were run)")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} not found: the benchmark reads the shared train/dev splits at run time")
    every = list(range(args.step, args.most + 1, args.step))
    plan = {"queue": every, "random": args.random_points or every}
    if not args.report_only:
        run(args.sources, args.seeds, {strategy: plan[strategy] for strategy in args.strategies})
    points = [
        p
        for p in measured()
        if p["seed"] in (-1, *args.seeds) and (p["labels"] in (0, *plan[p["strategy"]]))  # only the plan's points
    ]
    plot(points, args.sources, PNG)
    shown = [a for i, a in enumerate(sys.argv[1:]) if a != "--note" and (i == 0 or sys.argv[i] != "--note")]
    text = report(
        points, args.sources, plan, "nice -n 10 .venv/bin/python bench/active_learning.py " + shlex.join(shown)
    )
    text += f"\n{args.note}\n" if args.note else ""
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
