"""Quality benchmark: Haltung vs the plain baseline of ../shared/data/README.md, dev macro-F1 per source.

Per source, trained on its train split and scored on its dev split (test splits are never read):
Haltung (``fit_model``, seed 0, C/window chosen by its cross-validation), the same search without the
SentiWS lexicon (ablation), and the plain baseline (word 1-2-gram + char_wb 2-5-gram TF-IDF,
``LogisticRegression(C=4, class_weight="balanced")``, text only). Then one Haltung model trained on all
sources' train splits together, scored per source. Deltas carry paired-bootstrap 95% intervals.

    python bench/quality.py [--sources gerntsa,omp] [--jobs 2] [--out bench/RESULTS.md] [--no-ablation]
    python bench/quality.py --fix gerntsa=0.25/6 --fix all=4/6 --diagrams bench   # reuse a search's C/window; PNGs
    python bench/quality.py --starter [...]   # the starter model on every dev set (bench/quality_starter.py)

Tables go to stdout and replace the "Quality" section of --out; raw figures go to bench/out/quality.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits

from training.calibration import expected_calibration_error
from training.data import HEADS, Example, read_examples
from training.evaluate import evaluate, scores
from training.fit import DEFAULT_SPACE, SearchSpace, fit_model, head_rows
from training.model import HaltungModel

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
SOURCES = ("gerntsa", "xstance_de", "germeval2017", "sb10k", "potts", "politicians", "omp")
MARGIN = 0.03  # Haltung must beat the baseline by this much on every source ...
FLOORS = {"gerntsa": 0.50}  # ... and reach these absolute scores (issue 16)
SECTION = "## Quality (dev macro-F1)"
BOOTSTRAP = 1000
SEED = 0
PARAMS = ("C", "window", "lexicon", "cv_macro_f1")  # what fit_model chose, from model.params

Log = Callable[[str], None]
Curve = tuple[np.ndarray, np.ndarray, list[str], list[str]]  # calibrated, uncalibrated, labels, gold
CURVES: dict[str, list[tuple[str, Curve]]] = {}  # per head: (source, dev probabilities) of per-source models
CURVES_ALL: dict[str, list[tuple[str, Curve]]] = {}  # ... of the all-sources model


def parse_override(text: str) -> tuple[str, dict[str, Any]]:
    """``negation=false`` or ``C=1,2`` -> a replacement for `SearchSpace` fields (tuples of typed values)."""
    key, _, raw = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(SearchSpace)}
    if key not in fields or not raw:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE[,VALUE] with FIELD in {', '.join(fields)}")
    default = getattr(DEFAULT_SPACE, key)
    kind = type(default[0]) if isinstance(default, tuple) else type(default)

    def cast(v: str) -> Any:
        return v.strip().lower() in ("1", "true", "yes") if kind is bool else kind(v)

    values = tuple(cast(v) for v in raw.split(","))
    return text, {key: values if isinstance(default, tuple) else values[0]}


def baseline_pipeline() -> Pipeline:
    """The shared README's plain baseline (scikit-learn defaults otherwise; max_iter raised to converge)."""
    views = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2))),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))),
        ]
    )
    clf = LogisticRegression(C=4, class_weight="balanced", max_iter=2000, random_state=SEED)
    return Pipeline([("tfidf", views), ("clf", clf)])


def _prefixed(log: Log, prefix: str, message: str) -> None:
    log(prefix + message)


def predictions(model: HaltungModel, head: str, examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    """Gold labels and predictions, called exactly as training.evaluate.evaluate calls the model."""
    rows, y = head_rows(examples, head)
    texts, targets, spans = ([r[i] for r in rows] for i in range(3))
    return y, [p.label for p in model.predict(head, texts, targets, spans)]


def calibration(model: HaltungModel, head: str, examples: Sequence[Example]) -> dict[str, Any]:
    """ECE (15 bins, top label) of the head's probabilities on `examples`, and before its temperature.

    Also returns the probabilities (calibrated, uncalibrated), labels and gold for reliability diagrams.
    """
    rows, y = head_rows(examples, head)
    texts, targets, spans = ([r[i] for r in rows] for i in range(3))
    proba = model.predict_proba(head, texts, targets, spans)
    labels = model.labels(head)
    temperature = float(model.params.get(head, {}).get("temperature", 1.0))
    # softmax(T · log p) undoes the temperature exactly: the probabilities before calibration
    raw = softmax(temperature * np.log(np.clip(proba, 1e-300, None)), axis=1) if temperature != 1.0 else proba
    return {
        "ece": round(expected_calibration_error(proba, labels, y), 4),
        "ece_uncalibrated": round(expected_calibration_error(raw, labels, y), 4),
        "temperature": temperature,
        "curve": (proba, raw, labels, y),
    }


def paired_delta(y: Sequence[str], a: Sequence[str], b: Sequence[str]) -> dict[str, float]:
    """Macro-F1(a) - macro-F1(b) with a paired-bootstrap 95% interval over the dev rows."""
    labels = {label: i for i, label in enumerate(sorted(set(y) | set(a) | set(b)))}
    t, pa, pb = (np.array([labels[v] for v in seq]) for seq in (y, a, b))
    rng = np.random.default_rng(SEED)
    samples = [rng.integers(0, len(t), len(t)) for _ in range(BOOTSTRAP)]
    deltas = [_macro_f1(t[s], pa[s], len(labels)) - _macro_f1(t[s], pb[s], len(labels)) for s in samples]
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    full = _macro_f1(t, pa, len(labels)) - _macro_f1(t, pb, len(labels))
    return {"delta": round(float(full), 4), "ci_low": round(float(lo), 4), "ci_high": round(float(hi), 4)}


def _macro_f1(t: np.ndarray, p: np.ndarray, k: int) -> float:
    """Same as sklearn's f1_score(average="macro", zero_division=0) over the labels present."""
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    both = cm.sum(axis=0) + cm.sum(axis=1)
    present = both > 0
    return float((2 * np.diag(cm)[present] / both[present]).mean())


def run_source(
    name: str, data_dir: Path, jobs: int, ablation: bool, log: Log, space: SearchSpace = DEFAULT_SPACE
) -> tuple[dict[str, Any], list[Example], list[Example]]:
    """Train Haltung (with/without lexicon) and the baseline on one source; score all three on its dev split."""
    train = read_examples([data_dir / name / "train.jsonl"])
    dev = read_examples([data_dir / name / "dev.jsonl"])
    result: dict[str, Any] = {"n_train": len(train), "n_dev": len(dev), "seconds": {}, "heads": {}}
    variants = [("haltung", space)]
    if ablation:
        variants.append(("haltung_nolex", dataclasses.replace(space, lexicon=(False,))))
    preds: dict[str, dict[str, list[str]]] = {}
    gold: dict[str, list[str]] = {}
    for variant, space in variants:
        log(f"{name}: fitting {variant} on {len(train)} rows")
        start = time.perf_counter()
        progress = functools.partial(_prefixed, log, f"{name}/{variant}: ")
        model = fit_model(train, seed=SEED, space=space, n_jobs=jobs, progress=progress)
        result["seconds"][variant] = round(time.perf_counter() - start, 1)
        report = evaluate(model, dev)
        for head, r in report["heads"].items():
            gold[head], preds.setdefault(head, {})[variant] = predictions(model, head, dev)
            params = {k: v for k, v in model.params[head].items() if k in PARAMS}
            result["heads"].setdefault(head, {})[variant] = {**params, **r}
            if variant == "haltung":
                cal = calibration(model, head, dev)
                CURVES.setdefault(head, []).append((name, cal.pop("curve")))
                result["heads"][head][variant].update(cal)
        dev_f1 = ", ".join(f"{h} {r['macro_f1']:.3f}" for h, r in report["heads"].items())
        log(f"{name}: {variant} done in {result['seconds'][variant]}s; dev macro-F1 {dev_f1}")
    start = time.perf_counter()
    for head in result["heads"]:
        rows, y = head_rows(train, head)
        with threadpool_limits(limits=1):  # as fit_model does: BLAS threads only slow these fits down
            baseline = baseline_pipeline().fit([r[0] for r in rows], y)
        dev_rows, y_dev = head_rows(dev, head)
        preds[head]["baseline"] = [str(p) for p in baseline.predict([r[0] for r in dev_rows])]
        result["heads"][head]["baseline"] = scores(y_dev, preds[head]["baseline"])
    result["seconds"]["baseline"] = round(time.perf_counter() - start, 1)
    dev_f1 = ", ".join(f"{h} {r['baseline']['macro_f1']:.3f}" for h, r in result["heads"].items())
    log(f"{name}: baseline done in {result['seconds']['baseline']}s; dev macro-F1 {dev_f1}")
    for head, p in preds.items():
        h = result["heads"][head]
        h["vs_baseline"] = paired_delta(gold[head], p["haltung"], p["baseline"])
        floor = FLOORS.get(name)
        h["goal_met"] = h["vs_baseline"]["delta"] >= MARGIN and (floor is None or h["haltung"]["macro_f1"] >= floor)
        if "haltung_nolex" in p:
            h["lexicon_effect"] = paired_delta(gold[head], p["haltung"], p["haltung_nolex"])
    return result, train, dev


def run_combined(
    trains: dict[str, list[Example]],
    devs: dict[str, list[Example]],
    jobs: int,
    log: Log,
    space: SearchSpace = DEFAULT_SPACE,
) -> dict[str, Any]:
    """One Haltung model on every selected source's train split, scored on all their dev splits."""
    train = [e for examples in trains.values() for e in examples]
    dev = [e for examples in devs.values() for e in examples]
    log(f"all sources: fitting haltung on {len(train)} rows")
    start = time.perf_counter()
    model = fit_model(train, seed=SEED, space=space, n_jobs=jobs, progress=lambda m: log(f"all/haltung: {m}"))
    seconds = round(time.perf_counter() - start, 1)
    log(f"all sources: done in {seconds}s")
    report = evaluate(model, dev)
    for head, r in report["heads"].items():
        r.update({k: v for k, v in model.params[head].items() if k in PARAMS})
        r["n_train"] = model.params[head]["n"]
        for source, examples in devs.items():
            if source in r["by_source"]:
                cal = calibration(model, head, examples)
                CURVES_ALL.setdefault(head, []).append((source, cal.pop("curve")))
                r["by_source"][source].update(cal)
    return {"seconds": seconds, "n_train": len(train), "n_dev": len(dev), "report": report}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "scikit_learn": sklearn.__version__,
        "numpy": np.__version__,
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def code_version() -> str:
    """The commit measured, flagging uncommitted changes to training/ (others may be editing it)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "training")
    return commit + (" + uncommitted changes in training/" if dirty else "")


def _ci(d: dict[str, float]) -> str:
    return f"{d['delta']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def _ece(r: dict[str, Any] | None) -> str:
    if not r or "ece" not in r:
        return "–"
    return f"{r['ece']:.3f} ({r['ece_uncalibrated']:.3f})"


def _verdict(d: dict[str, float]) -> str:
    return "helps" if d["ci_low"] > 0 else "hurts" if d["ci_high"] < 0 else "neutral"


def tables(results: dict[str, Any], combined: dict[str, Any] | None) -> str:
    """Markdown tables: goal per source, lexicon ablation, all-sources model, timings."""
    by_source = {h: r["by_source"] for h, r in combined["report"]["heads"].items()} if combined else {}
    out = [
        "### Per source: Haltung vs plain baseline",
        "",
        f"Goal: Haltung ≥ baseline + {MARGIN:.2f} on every source"
        + "".join(f"; {s} ≥ {f:.2f}" for s, f in FLOORS.items())
        + ". Δ with paired-bootstrap 95% interval over dev rows.",
        "",
        "| source | head | train / dev | baseline | Haltung | Δ [95% CI] | goal | C | window | CV F1 | ECE (uncal.)"
        " | all-sources | all-sources − Haltung | all-sources ECE (uncal.) |",
        "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ablation, timing = [], []
    for name, r in results.items():
        for head, h in r["heads"].items():
            mine, base = h["haltung"], h["baseline"]
            floor = FLOORS.get(name)
            why = [] if h["vs_baseline"]["delta"] >= MARGIN else [f"Δ<{MARGIN:.2f}"]
            why += [f"<{floor:.2f}"] if floor is not None and mine["macro_f1"] < floor else []
            goal = "yes" if h["goal_met"] else "**NO** (" + ", ".join(why) + ")"
            pooled = by_source.get(head, {}).get(name)
            pooled_f1 = f"{pooled['macro_f1']:.3f}" if pooled else "–"
            gap = f"{pooled['macro_f1'] - mine['macro_f1']:+.3f}" if pooled else "–"
            out.append(
                f"| {name} | {head} | {r['n_train']} / {r['n_dev']} | {base['macro_f1']:.3f} | {mine['macro_f1']:.3f}"
                f" | {_ci(h['vs_baseline'])} | {goal} | {mine['C']} | {mine['window']} | {mine['cv_macro_f1']:.3f}"
                f" | {_ece(mine)} | {pooled_f1} | {gap} | {_ece(pooled)} |"
            )
            if "haltung_nolex" in h:
                off = h["haltung_nolex"]
                ablation.append(
                    f"| {name} | {head} | {off['macro_f1']:.3f} (C={off['C']}, w={off['window']})"
                    f" | {mine['macro_f1']:.3f} (C={mine['C']}, w={mine['window']})"
                    f" | {_ci(h['lexicon_effect'])} | {_verdict(h['lexicon_effect'])} |"
                )
        s = r["seconds"]
        timing.append(
            f"| {name} | {s['haltung']:.0f} | {s.get('haltung_nolex', float('nan')):.0f} | {s['baseline']:.0f} |"
        )
    if ablation:
        out += [
            "",
            "### Lexicon ablation (Haltung's pipeline, lexicon=False vs lexicon=True, same CV search)",
            "",
            "Verdict: helps / hurts when the 95% interval of Δ excludes 0, else neutral.",
            "",
            "| source | head | lexicon=False | lexicon=True | Δ (True − False) [95% CI] | verdict |",
            "|---|---|---|---|---|---|",
            *ablation,
        ]
    if combined:
        out += [
            "",
            f"### One model on all sources' train splits ({combined['n_train']} rows, {combined['seconds']:.0f}s)",
            "",
            "| head | source | macro-F1 | accuracy | n |",
            "|---|---|---:|---:|---:|",
        ]
        for head, r in combined["report"]["heads"].items():
            out.append(
                f"| {head} | **all** (C={r['C']}, w={r['window']}, CV {r['cv_macro_f1']:.3f})"
                f" | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | {r['n']} |"
            )
            out += [
                f"| {head} | {s} | {v['macro_f1']:.3f} | {v['accuracy']:.3f} | {v['n']} |"
                for s, v in r["by_source"].items()
            ]
    out += [
        "",
        "### Training time per source (seconds, wall clock; Haltung includes its CV search)",
        "",
        "| source | Haltung | Haltung lexicon=False | baseline |",
        "|---|---:|---:|---:|",
        *timing,
    ]
    return "\n".join(out) + "\n"


def write_section(path: Path, body: str, heading: str = SECTION) -> None:
    """Replace (or append) the section `heading` of `path`, keeping every other section intact."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Haltung benchmarks\n"
    lines = text.rstrip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        lines += ["", *body.rstrip("\n").splitlines()]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = ["", *lines[end:]] if end < len(lines) else []
        lines = lines[:start] + body.rstrip("\n").splitlines() + tail
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def _fixed_space(space: SearchSpace, value: str) -> SearchSpace:
    """``0.25/6`` -> the space with one C (also for large heads) and one window: a search already run."""
    C, _, window = value.partition("/")
    return dataclasses.replace(space, C=(float(C),), large_C=(float(C),), window=(int(window or 3),))


def main(argv: Sequence[str] | None = None) -> int:
    if "--starter" in (sys.argv[1:] if argv is None else argv):
        import quality_starter  # the starter-model section: its own options

        return quality_starter.main(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated (default: all seven)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help=f"default: {DATA_DIR}")
    parser.add_argument("--jobs", type=int, default=1, help="n_jobs of fit_model's cross-validation")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md", help="markdown file to update")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "quality.json", help="raw results")
    parser.add_argument("--no-ablation", dest="ablation", action="store_false", help="skip lexicon=False runs")
    parser.add_argument("--no-combined", dest="combined", action="store_false", help="skip the all-sources model")
    parser.add_argument("--space", type=parse_override, action="append", default=[], help="FIELD=VALUE for fit_model")
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="SOURCE=C/WINDOW",
        help="skip the search for SOURCE (or 'all' for the all-sources model): use this C and window",
    )
    parser.add_argument("--combined-only", action="store_true", help="only the all-sources model (no write to --out)")
    parser.add_argument("--diagrams", type=Path, help="draw reliability diagrams (PNG) into this directory")
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if not (args.data_dir / s / "train.jsonl").is_file()]
    if unknown:
        parser.error(f"no train.jsonl for {', '.join(unknown)} under {args.data_dir}")

    began, load_before, code = time.perf_counter(), round(os.getloadavg()[0], 1), code_version()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    space = DEFAULT_SPACE
    for _, override in args.space:
        space = dataclasses.replace(space, **override)
    results, trains, devs = {}, {}, {}
    if args.combined_only:
        for name in sources:
            trains[name] = read_examples([args.data_dir / name / "train.jsonl"])
            devs[name] = read_examples([args.data_dir / name / "dev.jsonl"])
        combined = run_combined(trains, devs, args.jobs, log, space)
        print(json.dumps(combined["report"]["heads"], indent=1, default=str))
        return 0
    fixed = {k: _fixed_space(space, v) for k, _, v in (f.partition("=") for f in args.fix)}
    for name in sources:
        results[name], trains[name], devs[name] = run_source(
            name, args.data_dir, args.jobs, args.ablation, log, fixed.get(name, space)
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"partial": True, "sources": results}, indent=2, ensure_ascii=False) + "\n")
    combined = run_combined(trains, devs, args.jobs, log, fixed.get("all", space)) if args.combined else None
    total = round(time.perf_counter() - began, 1)

    env = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} " if os.environ.get("PYTHONPATH") else ""
    info = {
        "command": env + shlex.join(sys.orig_argv),
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "code": code,
        "machine": machine(),
        "total_seconds": total,
        "heads": list(HEADS),
    }
    body = tables(results, combined)
    if args.diagrams:
        from reliability import draw

        for curves, stem, who in (
            (CURVES, "per_source", "per-source models"),
            (CURVES_ALL, "all_sources", "all-sources model"),
        ):
            if curves:
                panels = {h: [(src, c[0], c[2], c[3]) for src, c in parts] for h, parts in curves.items()}
                draw(panels, args.diagrams / f"reliability_{stem}.png", f"{who}, dev sets (calibrated; code {code})")
                log(f"drew {args.diagrams / f'reliability_{stem}.png'}")
    m = info["machine"]
    section = "\n".join(
        [
            SECTION,
            "",
            f"- command: `{info['command']}`",
            f"- date: {info['date']}; code: {code}; total wall time {total / 60:.1f} min",
            f"- machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, scikit-learn {m['scikit_learn']};"
            f" 1-min load average {load_before} at start, {m['load_average_1min']} at end (other jobs share the CPUs)",
            "- data: train → dev of each source in ../shared/data (test splits untouched); baseline = word 1-2-gram +"
            " char_wb 2-5-gram TF-IDF (sklearn defaults), LogisticRegression(C=4, class_weight='balanced'), text only",
            "",
            body,
        ]
    )
    print(body)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({**info, "sources": results, "combined": combined}, indent=2, ensure_ascii=False) + "\n"
    )
    write_section(args.out, section)
    log(f"wrote {args.out} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
