"""Starter-model quality: the default model (as `make run` trains it) scored on every shared dev set.

The default model is trained on the project's own starter corpus only (``--data starter
--dev-fraction 0.2``: the same deterministic 80% slice, seed 0); this scores it on real,
human-labelled data it never saw, beside the plain baseline trained on the same rows, with the
expected calibration error (15 bins) per dev set and head. ``--extra`` adds corpus files (e.g. a
snapshot of the writers' growing files; rows repeating the starter corpus are dropped), ``--ablate
key=value`` trains variants of the search space beside the default and reports their Δ.

    python bench/quality.py --starter [--extra FILE ...] [--ablate negation=false] [--no-write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from quality import (
    DATA_DIR,
    REPO,
    SEED,
    baseline_pipeline,
    code_version,
    machine,
    paired_delta,
    parse_override,
    write_section,
)
from scipy.special import softmax
from threadpoolctl import threadpool_limits

from training import DirectoryRepository, load_bundle
from training.calibration import expected_calibration_error
from training.data import STARTER, Example, read_examples
from training.evaluate import scores
from training.fit import DEFAULT_SPACE, fit_model, head_rows
from training.model import HaltungModel
from training.train import split_holdout

SECTION = "## Starter model on real data (dev macro-F1)"
DEV_SETS = (
    ("sentiment", "germeval2017"),
    ("sentiment", "sb10k"),
    ("sentiment", "potts"),
    ("sentiment", "politicians"),
    ("sentiment", "omp"),
    ("stance", "gerntsa"),
    ("stance", "xstance_de"),
)
GOALS = {"germeval2017": 0.39, "potts": 0.50, "sb10k": 0.48, "gerntsa": 0.45}  # issue 16


def corpus(extra: Sequence[Path]) -> list[Example]:
    """The starter corpus plus extra files, each (text, target) once: the writers' files repeat the starter rows."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for path in [STARTER, *extra]:
        for e in read_examples([path]):
            key = (e.text, e.target)
            if key not in seen:
                seen.add(key)
                out.append(e)
    return out


def dev_rows(head: str, source: str, data_dir: Path) -> tuple[list[Any], list[str]]:
    """The dev rows of a source for a head; on GerNTSA only rows whose target is marked in the text (all are)."""
    examples = read_examples([data_dir / source / "dev.jsonl"])
    if source == "gerntsa":
        examples = [e for e in examples if e.target_span is not None]
    return head_rows(examples, head)


def score_variant(model: HaltungModel, head: str, rows: list[Any], y: list[str]) -> tuple[dict[str, Any], list[str]]:
    texts, targets, spans = ([r[i] for r in rows] for i in range(3))
    proba = model.predict_proba(head, texts, targets, spans)
    labels = model.labels(head)
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    result = {**scores(y, predicted), "ece": round(expected_calibration_error(proba, labels, y), 4)}
    temperature = float(model.params.get(head, {}).get("temperature", 1.0))
    raw = proba
    if temperature != 1.0:  # softmax(T · log p) undoes the temperature exactly: the ECE before calibration
        raw = softmax(temperature * np.log(np.clip(proba, 1e-300, None)), axis=1)
        result["ece_uncalibrated"] = round(expected_calibration_error(raw, labels, y), 4)
        result["temperature"] = temperature
    return result, predicted, proba, raw


def run(
    extra: Sequence[Path],
    ablations: Sequence[tuple[str, dict[str, Any]]],
    data_dir: Path,
    log: Any,
    save: Path | None = None,
    bundle: Path | None = None,
) -> dict:
    examples = corpus(extra)
    train, held = split_holdout(examples, 0.2, SEED)
    log(f"corpus: {len(examples)} rows ({len(extra)} extra files); training on {len(train)}, starter dev {len(held)}")
    variants: dict[str, HaltungModel] = {}
    seconds: dict[str, float] = {}
    if bundle:  # a default model trained before (by --save on the same corpus): scored, not retrained
        variants["default"] = load_bundle(bundle)
        log(f"default: loaded {bundle}")
    for name, override in [] if bundle else [("default", {}), *ablations]:
        space = dataclasses.replace(DEFAULT_SPACE, **override)
        start = time.perf_counter()
        variants[name] = fit_model(train, seed=SEED, space=space, progress=lambda m, n=name: log(f"{n}: {m}"))
        seconds[name] = round(time.perf_counter() - start, 1)
        log(f"{name}: trained in {seconds[name]}s")
    if save and not bundle:
        repository = DirectoryRepository(save)  # saved and made current, as `python -m training train` does
        version = repository.save(variants["default"], {"data": {"train": ["starter", *map(str, extra)], "seed": SEED}})
        repository.activate(version, by="bench/quality_starter.py", verify=False)
        log(f"saved the default variant as {save / version}")
    baselines = {}
    for head in variants["default"].heads:
        rows, y = head_rows(train, head)
        with threadpool_limits(limits=1):
            baselines[head] = baseline_pipeline().fit([r[0] for r in rows], y)
    results: dict[str, Any] = {"n_corpus": len(examples), "n_train": len(train), "seconds": seconds, "rows": []}
    probas: dict[str, list[tuple[str, np.ndarray, np.ndarray, list[str]]]] = {}
    for head, source in [*DEV_SETS, (None, "starter-dev")]:
        for h in [head] if head else list(variants["default"].heads):
            rows, y = head_rows(held, h) if head is None else dev_rows(h, source, data_dir)
            base_pred = [str(p) for p in baselines[h].predict([r[0] for r in rows])]
            entry: dict[str, Any] = {"head": h, "source": source, "n": len(y), "baseline": scores(y, base_pred)}
            preds = {}
            for name, model in variants.items():
                entry[name], preds[name], proba, raw = score_variant(model, h, rows, y)
                if name == "default":
                    probas.setdefault(h, []).append((source, proba, raw, y))
            entry["vs_baseline"] = paired_delta(y, preds["default"], base_pred)
            for name, _ in ablations:
                entry[name]["vs_default"] = paired_delta(y, preds[name], preds["default"])
            results["rows"].append(entry)
            log(
                f"{h}/{source}: baseline {entry['baseline']['macro_f1']:.3f} "
                + " ".join(f"{n} {entry[n]['macro_f1']:.3f} (ECE {entry[n]['ece']:.3f})" for n in variants)
            )
    results["curves"] = {h: _curves(parts, variants["default"].labels(h)) for h, parts in probas.items()}
    return results


def _curves(parts: list[tuple[str, np.ndarray, np.ndarray, list[str]]], labels: list[str]) -> list[Any]:
    """Reliability-diagram curves of one head: shared dev sets pooled (calibrated, uncalibrated), starter dev."""
    shared = [p for p in parts if p[0] != "starter-dev"]
    gold = [g for p in shared for g in p[3]]
    curves = [
        ("shared dev sets, calibrated", np.vstack([p[1] for p in shared]), labels, gold),
        ("shared dev sets, uncalibrated", np.vstack([p[2] for p in shared]), labels, gold),
    ]
    curves += [("starter dev slice, calibrated", p[1], labels, p[3]) for p in parts if p[0] == "starter-dev"]
    return curves


def table(results: dict[str, Any], ablations: Sequence[str]) -> str:
    out = [
        "| head | dev set | n | baseline (same rows) | starter model | Δ [95% CI] | goal | ECE (uncalibrated) |"
        + "".join(f" {a} | Δ vs default |" for a in ablations),
        "|---|---|---:|---:|---:|---|---|---:|" + "---:|---|" * len(ablations),
    ]
    for r in results["rows"]:
        d = r["vs_baseline"]
        goal = GOALS.get(r["source"])
        met = "–" if goal is None else ("yes" if r["default"]["macro_f1"] >= goal else "no") + f" (≥ {goal:.2f})"
        line = (
            f"| {r['head']} | {r['source']} | {r['n']} | {r['baseline']['macro_f1']:.3f}"
            f" | {r['default']['macro_f1']:.3f}"
            f" | {d['delta']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] | {met} | {r['default']['ece']:.3f}"
            + (f" ({r['default']['ece_uncalibrated']:.3f})" if "ece_uncalibrated" in r["default"] else "")
            + " |"
        )
        for a in ablations:
            v = r[a]["vs_default"]
            line += f" {r[a]['macro_f1']:.3f} | {v['delta']:+.3f} [{v['ci_low']:+.3f}, {v['ci_high']:+.3f}] |"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starter", action="store_true", help="(the switch bench/quality.py dispatches on)")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="extra corpus files (JSONL/CSV)")
    parser.add_argument("--ablate", type=parse_override, action="append", default=[], help="FIELD=VALUE variant")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "quality_starter.json")
    parser.add_argument("--no-write", dest="write", action="store_false", help="print only; leave --out alone")
    parser.add_argument("--save", type=Path, help="save the default variant as a bundle in this models directory")
    parser.add_argument("--model", type=Path, help="score this bundle (saved by --save on the same corpus) as default")
    parser.add_argument("--diagram", type=Path, help="draw the reliability diagram (PNG) of the default variant")
    args = parser.parse_args(argv)
    began, load_before, code = time.perf_counter(), round(os.getloadavg()[0], 1), code_version()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    if args.model and args.ablate:
        parser.error("--model scores one bundle; --ablate needs training")
    results = run(args.extra, args.ablate, args.data_dir, log, args.save, args.model)
    curves = results.pop("curves")
    if args.diagram:
        from reliability import draw

        title = f"Starter model (code {code}, corpus {results['n_corpus']} rows): shared dev sets and its own dev slice"
        draw(curves, args.diagram, title)
        log(f"drew {args.diagram}")
    names = [name for name, _ in args.ablate]
    body = table(results, names)
    print(body)
    m = machine()
    command = _short_command(sys.orig_argv, args.extra)
    info = {"command": command, "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "code": code}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**info, "machine": m, **results}, indent=2, ensure_ascii=False) + "\n")
    if args.write:
        s = results["seconds"]
        section = "\n".join(
            [
                SECTION,
                "",
                f"- command: `{command}`",
                f"- date: {info['date']}; code: {code}; corpus {results['n_corpus']} rows, trained on"
                f" {results['n_train']} (the 80% slice `make run` trains on); "
                + (f"fit_model wall time {', '.join(f'{k} {v:.0f}s' for k, v in s.items())}" if s else "model loaded")
                + f"; 1-min load average {load_before} at start,"
                f" {m['load_average_1min']} at end ({m['nproc']} CPUs shared with other jobs)",
                "- baseline: the shared README's plain pipeline (word 1-2 + char_wb 2-5 TF-IDF, LR C=4 balanced, text"
                " only) trained on the same starter rows; gerntsa: rows whose target is marked in the text (all 729);"
                " xstance_de: question targets; starter-dev: the 20% slice of the corpus itself;"
                " ECE: 15 bins, top label",
                "",
                body,
            ]
        )
        write_section(args.out, section, SECTION)
    log(f"wrote {args.json}" + (f" and {args.out}" if args.write else ""))
    return 0


def _short_command(argv: Sequence[str], extra: Sequence[Path]) -> str:
    """The command line, with many --extra files of one directory written as a glob."""
    folders = {p.parent for p in extra}
    if len(extra) <= 3 or len(folders) != 1:
        return shlex.join(argv)
    listed = {str(p) for p in extra}
    kept = [a for a in argv if a not in listed]
    at = kept.index("--extra") + 1
    return shlex.join(kept[:at]) + f" {folders.pop()}/*.jsonl " + shlex.join(kept[at:])


if __name__ == "__main__":
    sys.exit(main())
