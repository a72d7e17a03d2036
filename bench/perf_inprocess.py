"""In-process throughput: sentence splitting, batch scoring and one-sentence calls, sklearn vs fast classes.

    .venv/bin/python bench/perf_inprocess.py                 # throughput (about 3 minutes)
    .venv/bin/python bench/perf_inprocess.py --f1            # + dev macro-F1 before/after (gerntsa, germeval2017)

The model is the project's own, trained on the starter corpus with the CLI
(``python -m training train --data starter --dev-fraction 0.2 --out bench/out/perf-models``; reused when
present). "sklearn" runs the same fitted state through scikit-learn's own classes (``accelerate(model,
fast=False)``: TfidfVectorizer, PolarityFeatures, Pipeline), "fast" through training/fastvec.py. Input: the
1028 articles of ../shared/data/news_articles/10kgnad.jsonl, split into sentences by the service's
Segmenter (its cost is reported on its own). Rates are per core: BLAS is limited to one thread and
rates are computed from the process's CPU time (wall time is shown too: this machine is shared, so
wall time includes waiting for the CPU). Results replace the "## Performance: in-process" section of
bench/RESULTS.md (other sections are kept); raw figures go to bench/out/perf_inprocess.json.

"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import OUT, RESULTS, SHARED, ensure_model, machine_description, read_articles, run_command, write_section
from threadpoolctl import threadpool_limits


@contextmanager
def plain_classes() -> Any:
    """Build pipelines from scikit-learn's own classes (the state before training/fastvec.py)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

    import training.features as features
    from training.lexicon import PolarityFeatures

    with (
        mock.patch.object(features, "FastTfidfVectorizer", TfidfVectorizer),
        mock.patch.object(features, "FastPolarityFeatures", PolarityFeatures),
        mock.patch.object(features, "FastPipeline", Pipeline),
    ):
        yield


# ---- measurements -------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float]:
    """Best CPU seconds and the wall seconds of that run."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        best = min(best, (time.process_time() - c, time.perf_counter() - w))
    return best


def throughput(model_dir: Path, n_one: int) -> dict[str, Any]:
    from training import load_bundle
    from training.fastvec import accelerate
    from training.segmentation import Segmenter

    articles = read_articles()
    segmenter = Segmenter()
    segmenter.split_many(articles[:3])  # warm up SoMaJo
    chars = sum(map(len, articles))
    split: list[Any] = []
    cpu, wall = timed(lambda: split.extend(segmenter.split_many(articles)))
    sentences = [s for doc in split for s in doc]
    texts = [s.text for s in sentences]
    out: dict[str, Any] = {
        "articles": len(articles),
        "chars": chars,
        "sentences": len(texts),
        "segmentation": {"cpu_s": cpu, "wall_s": wall, "sentences_per_s": len(texts) / cpu},
    }
    loaded = load_bundle(model_dir)
    variants = {"sklearn": accelerate(loaded, fast=False), "fast": accelerate(loaded, fast=True)}
    target = "Regierung"
    one = texts[:: max(1, len(texts) // n_one)][:n_one]
    for name, model in variants.items():
        model.version = loaded.version
        out[name] = _measure(model, texts, split, one, target, segmenter)
    out["one_calls"] = len(one)
    for head in ("sentiment", "stance"):
        targets = [target] * len(texts) if head == "stance" else None
        a = variants["sklearn"].predict_proba(head, texts, targets)
        b = variants["fast"].predict_proba(head, texts, targets)
        out[f"max_abs_proba_diff_{head}"] = float(np.abs(a - b).max())
        out[f"label_changes_{head}"] = int((a.argmax(1) != b.argmax(1)).sum())
    return out


def _measure(model: Any, texts: list[str], split: list[Any], one: list[str], target: str, segmenter: Any) -> dict:
    from training.analysis import Document, analyse
    from training.targets import Target

    res: dict[str, Any] = {}
    for head in ("sentiment", "stance"):
        targets = [target] * len(texts) if head == "stance" else None
        model.predict_proba(head, texts[:200], targets[:200] if targets else None)  # warm caches
        cpu, wall = timed(lambda h=head, t=targets: model.predict_proba(h, texts, t), repeat=2)
        res[f"batch_{head}"] = {"cpu_s": cpu, "wall_s": wall, "per_s": len(texts) / cpu}
        tgt = [target] if head == "stance" else None

        def calls(h: str = head, t: list[str] | None = tgt) -> None:
            for s in one:
                model.predict_proba(h, [s], t)

        cpu, wall = timed(calls, repeat=2)
        res[f"one_{head}"] = {"cpu_s": cpu, "wall_s": wall, "per_s": len(one) / cpu}
    # the service's scoring function: both heads, one target, response dicts and summaries
    docs = [Document(None, doc) for doc in split]
    targets_ = [Target(target)]  # the service scores Target objects (a name, aliases)
    cpu, wall = timed(lambda: [analyse(model, [d], targets_, 0) for d in docs])
    res["service_score_articles"] = {"cpu_s": cpu, "wall_s": wall, "per_s": len(texts) / cpu}
    single = [Document(None, segmenter.from_sentences([s])) for s in one]
    cpu, wall = timed(lambda: [analyse(model, [d], targets_, 0) for d in single], repeat=2)
    res["service_score_one"] = {"cpu_s": cpu, "wall_s": wall, "per_s": len(single) / cpu}
    return res


def dev_f1(sources: Sequence[str]) -> dict[str, Any]:
    """Train on each source's train split with sklearn's classes and with the fast ones; dev macro-F1."""
    from training.data import read_examples
    from training.evaluate import evaluate
    from training.fit import fit_model

    out: dict[str, Any] = {}
    for source in sources:
        train = read_examples([SHARED / source / "train.jsonl"])
        dev = read_examples([SHARED / source / "dev.jsonl"])
        res = {}
        for name in ("sklearn", "fast"):
            with plain_classes() if name == "sklearn" else nullcontext():
                cpu, wall = time.process_time(), time.perf_counter()
                model = fit_model(train, seed=0)
                fit_cpu, fit_wall = time.process_time() - cpu, time.perf_counter() - wall
            report = evaluate(model, dev)
            head = next(iter(report["heads"]))
            res[name] = {
                "head": head,
                "macro_f1": report["heads"][head]["macro_f1"],
                "fit_cpu_s": fit_cpu,
                "fit_wall_s": fit_wall,
                "params": model.params[head],
            }
            print(f"{source} {name}: {res[name]['macro_f1']} (fit {fit_cpu:.0f}s cpu)", file=sys.stderr, flush=True)
        res["delta"] = round(res["fast"]["macro_f1"] - res["sklearn"]["macro_f1"], 4)
        out[source] = res
    return out


# ---- report ---------------------------------------------------------------------------------------


def _rate(r: dict[str, Any]) -> str:
    return f"{r['per_s']:,.0f}"


def report(data: dict[str, Any], command: str, machine: str) -> str:
    t = data["throughput"]
    seg = t["segmentation"]
    rows = [
        ("batch, sentiment head", "batch_sentiment"),
        ("batch, stance head (target 'Regierung')", "batch_stance"),
        ("one-sentence calls, sentiment head", "one_sentiment"),
        ("one-sentence calls, stance head", "one_stance"),
        ("service `score()` per article, both heads + dicts", "service_score_articles"),
        ("service `score()` one sentence, both heads + dicts", "service_score_one"),
    ]
    lines = [
        f"Command: `{command}` ({data['date']}).",
        "",
        f"Machine: {machine}.",
        "",
        f"Input: {t['articles']} articles ({t['chars']:,} characters) → {t['sentences']:,} sentences (service "
        f"Segmenter). One-sentence calls: {t['one_calls']} sentences spread over the corpus, each its own call. "
        "Rates are sentences (or calls) per CPU-second of this process = per core; BLAS limited to one thread.",
        "",
        f"**Segmentation (SoMaJo, not owned here):** {seg['sentences_per_s']:,.0f} sentences/s per core "
        f"({seg['cpu_s']:.1f} s CPU, {seg['wall_s']:.1f} s wall for all {t['articles']} articles) — "
        "the largest cost of scoring raw text.",
        "",
        "| scoring, per core | sklearn classes | fast classes | speed-up | goal |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    goals = {"batch_sentiment": 20000, "batch_stance": 20000, "one_sentiment": 5000, "one_stance": 5000}
    for label, key in rows:
        a, b = t["sklearn"][key], t["fast"][key]
        goal = goals.get(key)
        verdict = "" if goal is None else f"{goal:,}/s: {'met' if b['per_s'] >= goal else 'missed'}"
        lines.append(f"| {label} | {_rate(a)}/s | {_rate(b)}/s | {b['per_s'] / a['per_s']:.1f}× | {verdict} |")
    lines += [
        "",
        f"Same fitted state, two code paths: largest |Δ probability| {t['max_abs_proba_diff_sentiment']:.1e} "
        f"(sentiment), {t['max_abs_proba_diff_stance']:.1e} (stance); labels changed: "
        f"{t['label_changes_sentiment']} and {t['label_changes_stance']} of {t['sentences']:,}.",
    ]
    if "f1" in data:
        lines += [
            "",
            "Dev macro-F1, each trained on the source's train split by `fit_model` (seed 0, default search), "
            "once with sklearn's classes and once with the fast ones (goal: within 0.005)"
            + (f"; measured by `{data['f1_run']}`:" if data.get("f1_run") else ":"),
            "",
            "| source | head | sklearn | fast | Δ | fit CPU s sklearn → fast |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for source, r in data["f1"].items():
            a, b = r["sklearn"], r["fast"]
            lines.append(
                f"| {source} | {a['head']} | {a['macro_f1']:.4f} | {b['macro_f1']:.4f} | {r['delta']:+.4f} | "
                f"{a['fit_cpu_s']:.0f} → {b['fit_cpu_s']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--f1", action="store_true", help="also train before/after and compare dev macro-F1")
    parser.add_argument("--f1-only", action="store_true", help="only the dev macro-F1 comparison")
    parser.add_argument("--sources", default="gerntsa,germeval2017")
    parser.add_argument("--one", type=int, default=2000, help="number of one-sentence calls per head")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    raw_path = OUT / "perf_inprocess.json"
    previous: dict[str, Any] = json.loads(raw_path.read_text()) if raw_path.exists() else {}
    data: dict[str, Any] = previous if args.f1_only else {}
    data["date"] = datetime.now().isoformat(timespec="minutes")
    if not (args.f1 or args.f1_only) and "f1" in previous:  # keep the last F1 comparison, labelled with its run
        data["f1"] = previous["f1"]
        data["f1_run"] = previous.get("f1_run") or f"{previous.get('command', 'an earlier run')} ({previous['date']})"
    data["command"] = run_command()
    with threadpool_limits(limits=1):
        if not args.f1_only:
            data["throughput"] = throughput(ensure_model(), args.one)
        if args.f1 or args.f1_only:
            data["f1"] = dev_f1(args.sources.split(","))
    raw_path.write_text(json.dumps(data, indent=2) + "\n")
    if "throughput" in data:
        text = report(data, run_command(), machine)
        print(text)
        write_section("Performance: in-process", text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
