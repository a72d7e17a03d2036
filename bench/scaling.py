"""Scaling: training time and peak memory against the number of labelled sentences; scoring time against length.

    .venv/bin/python bench/scaling.py                          # 1k, 10k, 100k sentences
    .venv/bin/python bench/scaling.py --sizes 1000,10000,100000,1000000

Training data: the train splits of every labelled source in ../shared/data (both heads, 27,566 rows),
resampled with replacement (seed 0) to N rows. Each size is trained in a fresh process by
``training.fit.fit_model`` with the default search (the same work as ``python -m training train``: both heads,
C grid x windows x 5 folds, then the final fit; BLAS one thread, n_jobs 1), and that process reports its
CPU/wall time and its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``). Scoring: documents of 1 to
2,000 pre-split news sentences (10kGNAD), scored by the library's ``analyse()`` (both heads, one target), and
split by the service's Segmenter, timed apart. Results replace the "## Performance: scaling" section of
bench/RESULTS.md; raw figures in bench/out/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    OUT,
    PY,
    RESULTS,
    ROOT,
    SHARED,
    ensure_model,
    machine_description,
    read_articles,
    run_command,
    write_section,
)

SOURCES = ("gerntsa", "xstance_de", "germeval2017", "sb10k", "potts", "politicians", "omp")


def resample(n: int, seed: int = 0) -> list[Any]:
    from dataclasses import replace

    from training.data import read_examples

    pool = read_examples([SHARED / s / "train.jsonl" for s in SOURCES])
    rng = random.Random(seed)
    return [replace(e, id=f"{e.id}~{i}") for i, e in enumerate(rng.choices(pool, k=n))]


def train_child(n: int) -> dict[str, Any]:
    """Runs in its own process: resample, fit, report time and peak memory."""
    from training.fit import fit_model

    examples = resample(n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu, wall = time.process_time(), time.perf_counter()
    model = fit_model(examples, seed=0)
    return {
        "n": n,
        "fit_cpu_s": time.process_time() - cpu,
        "fit_wall_s": time.perf_counter() - wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_loading_data_mb": rss_data,
        "params": {h: {k: v for k, v in p.items() if k in ("C", "window", "n")} for h, p in model.params.items()},
    }


def training(sizes: Sequence[int], timeout: float) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        print(f"training on {n:,} rows ...", file=sys.stderr, flush=True)
        try:
            run = subprocess.run(
                [str(PY), __file__, "--child", str(n)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            rows.append({"n": n, "skipped": f"not finished within {timeout:.0f} s"})
            continue
        if run.returncode != 0:
            rows.append({"n": n, "skipped": f"failed: {run.stderr[-500:]}"})
            continue
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def scoring(lengths: Sequence[int]) -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    from training import load_bundle
    from training.analysis import Document, analyse
    from training.segmentation import Segmenter

    model = load_bundle(ensure_model())
    segmenter = Segmenter()
    articles = read_articles(400)
    pool = [s.text for doc in segmenter.split_many(articles) for s in doc]
    rows = []
    with threadpool_limits(limits=1):
        for n in lengths:
            sentences = [pool[i % len(pool)] for i in range(n)]
            text = " ".join(sentences)
            doc = Document(None, segmenter.from_sentences(sentences))
            analyse(model, [doc], ["Regierung"], 0)
            reps = max(1, 2000 // n)
            c = time.process_time()
            for _ in range(reps):
                analyse(model, [doc], ["Regierung"], 0)
            score_s = (time.process_time() - c) / reps
            c = time.process_time()
            segmenter.split(text)
            seg_s = time.process_time() - c
            rows.append(
                {"sentences": n, "chars": len(text), "score_cpu_ms": 1000 * score_s, "split_cpu_ms": 1000 * seg_s}
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def _linearity(xs: list[float], ys: list[float]) -> str:
    """Log-log slope between the two largest sizes (1.0 = linear)."""
    import math

    if len(xs) < 2:
        return "n/a"
    slope = math.log(ys[-1] / ys[-2]) / math.log(xs[-1] / xs[-2])
    return f"{slope:.2f}"


def report(data: dict[str, Any], command: str, machine: str) -> str:
    lines = [f"Command: `{command}` ({data['date']}).", "", f"Machine: {machine}.", ""]
    done = [r for r in data["training"] if "skipped" not in r]
    lines += [
        "Training (`fit_model`, default search, both heads; resampled train splits of all sources):",
        "",
        "| labelled sentences | fit CPU s | fit wall s | peak RSS MB | CPU µs per sentence |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in data["training"]:
        if "skipped" in r:
            lines.append(f"| {r['n']:,} | skipped: {r['skipped'][:120]} | | | |")
        else:
            lines.append(
                f"| {r['n']:,} | {r['fit_cpu_s']:.1f} | {r['fit_wall_s']:.1f} | {r['peak_rss_mb']:,.0f} | "
                f"{1e6 * r['fit_cpu_s'] / r['n']:.0f} |"
            )
    if done:
        xs = [float(r["n"]) for r in done]
        lines += [
            "",
            f"Growth exponent between the two largest measured sizes (log-log slope; 1.0 = linear): time "
            f"{_linearity(xs, [r['fit_cpu_s'] for r in done])}, peak memory "
            f"{_linearity(xs, [r['peak_rss_mb'] for r in done])}.",
        ]
    lines += [
        "",
        "Scoring one document of n pre-split sentences (`training.analyse()`, both heads, one target) and splitting "
        "the same text with the Segmenter, CPU ms:",
        "",
        "| sentences | characters | score ms | ms per sentence | split ms | split ms per sentence |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in data["scoring"]:
        n = r["sentences"]
        lines.append(
            f"| {n:,} | {r['chars']:,} | {r['score_cpu_ms']:.2f} | {r['score_cpu_ms'] / n:.3f} | "
            f"{r['split_cpu_ms']:.1f} | {r['split_cpu_ms'] / n:.2f} |"
        )
    s = data["scoring"]
    if len(s) >= 2:
        lines += [
            "",
            f"Scoring growth exponent from {s[-2]['sentences']:,} to {s[-1]['sentences']:,} sentences: "
            f"{_linearity([r['sentences'] for r in s], [r['score_cpu_ms'] for r in s])}; splitting: "
            f"{_linearity([r['sentences'] for r in s], [r['split_cpu_ms'] for r in s])}.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--lengths", default="1,10,100,1000,2000")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per training size before giving up")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(train_child(args.child)))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    data: dict[str, Any] = {"date": datetime.now().isoformat(timespec="minutes")}
    data["scoring"] = scoring([int(x) for x in args.lengths.split(",")])
    data["training"] = training([int(x) for x in args.sizes.split(",")], args.timeout)
    (OUT / "scaling.json").write_text(json.dumps(data, indent=2) + "\n")
    text = report(data, run_command(), machine)
    print(text)
    write_section("Performance: scaling", text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
