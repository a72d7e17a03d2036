"""Command line: `python -m training {train,evaluate,predict,check,activate,versions,retrain,stats}`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from training.bundle import BundleError, bundle_dir, current_version, list_versions, load_bundle, set_current
from training.check import check_model, format_table
from training.data import DataError, read_examples, write_jsonl
from training.evaluate import evaluate, format_report
from training.fit import SearchSpace
from training.overlap import training_overlap
from training.retrain import add_parser as add_retrain_parser
from training.stance import StanceResult, score_rows
from training.stats import data_stats, format_stats
from training.train import train_and_save


def _progress() -> Callable[[str], None]:
    start = time.monotonic()
    return lambda message: print(f"[{time.monotonic() - start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _load(model: str, models_dir: str) -> object:
    """`--model` is a bundle directory, or a version name / 'current' inside `--models-dir`."""
    path = Path(model)
    if model == "current":
        version = current_version(Path(models_dir))
        if version is None:
            raise BundleError(f"no current model in {models_dir}: run `python -m training train --data starter`")
        path = bundle_dir(Path(models_dir), version)
    elif not path.is_dir():
        path = bundle_dir(Path(models_dir), model)
    return load_bundle(path)


def cmd_train(args: argparse.Namespace) -> int:
    result = train_and_save(
        args.data,
        Path(args.out),
        dev=args.dev or (),
        dev_fraction=args.dev_fraction,
        seed=args.seed,
        make_current=not args.no_activate,
        progress=_progress(),
        n_jobs=args.jobs,
        space=SearchSpace(lexicon=(not args.no_lexicon,)),
    )
    print(result.version)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load(args.model, args.models_dir)
    overlap = training_overlap(model.manifest, args.data)
    if overlap.warning():
        print(overlap.warning(), file=sys.stderr)
    report = evaluate(model, read_examples(args.data))
    report["model"] = model.version
    report["training_rows_in_evaluation"] = {"rows": overlap.seen, "of": overlap.total, "from": list(overlap.sources)}
    print(format_report(report))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model = _load(args.model, args.models_dir)
    examples = read_examples(args.data, require_label=False)
    texts = [e.text for e in examples]
    rows = [e.to_json() for e in examples]
    if "sentiment" in model.heads:
        for row, pred in zip(rows, model.predict("sentiment", texts), strict=True):
            row["predicted_sentiment"], row["sentiment_scores"] = pred.label, pred.scores
    if "stance" in model.heads:
        targets, spans = [e.target for e in examples], [e.target_span for e in examples]
        for row, result in zip(rows, score_rows(model, texts, targets, spans, args.unmentioned), strict=True):
            row.update(_stance_columns(result))
    for row in rows:
        row["model_version"] = model.version
    if args.out == "-":
        write_jsonl(rows, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            write_jsonl(rows, out)
    print(f"scored {len(rows)} rows with model {model.version}", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    stats = data_stats(read_examples(args.data, require_label=False))
    print(json.dumps(stats, indent=2, ensure_ascii=False) if args.json else format_stats(stats))
    return 0


def _stance_columns(result: StanceResult | None) -> dict[str, object]:
    """The same rules as the service: a stance only where the row's target is mentioned (or a question)."""
    mention = result.mention if result else None
    return {
        "mentioned": bool(result and result.mentioned),
        "mention": dataclasses.asdict(mention) if mention else None,
        "predicted_stance": result.label if result else None,
        "stance_scores": result.scores if result else None,
        "stance_basis": result.basis if result else None,
    }


def cmd_check(args: argparse.Namespace) -> int:
    report = check_model(_load(args.model, args.models_dir))
    print(f"behaviour suite: {report['cases']} cases, model {report['model']}")
    print(format_table(report, failures=args.failures))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def cmd_activate(args: argparse.Namespace) -> int:
    models_dir = Path(args.models_dir)
    load_bundle(bundle_dir(models_dir, args.version))  # verify before pointing `current` at it
    set_current(models_dir, args.version)
    print(f"current model is now {args.version}")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    models_dir = Path(args.models_dir)
    current = current_version(models_dir)
    for m in list_versions(models_dir):
        f1 = {h: r.get("macro_f1") for h, r in m.get("metrics", {}).get("heads", {}).items()}
        print(f"{'*' if m['version'] == current else ' '} {m['version']}  {m.get('created_at', '')}  dev macro-F1 {f1}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="fit a model and save a versioned bundle")
    t.add_argument("--data", nargs="+", required=True, help="files or directories (.jsonl/.csv), or 'starter'")
    t.add_argument("--dev", nargs="+", help="evaluation files or directories")
    t.add_argument("--dev-fraction", type=float, default=0.0, help="hold out this share of --data for evaluation")
    t.add_argument("--out", default="models", help="models directory (default: models)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--jobs", type=int, default=min(2, len(os.sched_getaffinity(0))), help="parallel cross-validation jobs"
    )
    t.add_argument("--no-lexicon", action="store_true", help="leave out the SentiWS polarity-lexicon features")
    t.add_argument("--no-activate", action="store_true", help="do not point models/current at the new version")
    t.set_defaults(func=cmd_train)
    for name, func, help_ in (
        ("evaluate", cmd_evaluate, "score labelled data"),
        ("predict", cmd_predict, "label a file"),
    ):
        c = sub.add_parser(name, help=help_)
        c.add_argument("--model", default="current", help="bundle directory, version, or 'current'")
        c.add_argument("--models-dir", default="models")
        c.add_argument("--data", nargs="+", required=True)
        if name == "evaluate":
            c.add_argument("--report", help="also write the report as JSON to this file")
        else:
            c.add_argument("--out", required=True, help="output JSONL file, or - for stdout")
            c.add_argument(
                "--unmentioned",
                choices=("null", "score"),
                default="null",
                help="rows whose target the text does not mention: no stance (null), or a tone-based guess "
                "marked stance_basis 'tone' (score)",
            )
        c.set_defaults(func=func)
    k = sub.add_parser("check", help="run the behaviour suite (CheckList style): pass rates per capability and head")
    k.add_argument("--model", default="current", help="bundle directory, version, or 'current'")
    k.add_argument("--models-dir", default="models")
    k.add_argument("--report", help="also write the report (with every failing case) as JSON to this file")
    k.add_argument("--failures", type=int, default=0, help="print up to this many failing cases per row")
    k.set_defaults(func=cmd_check)
    a = sub.add_parser("activate", help="point models/current at a version (rollback or forward)")
    a.add_argument("version")
    a.add_argument("--models-dir", default="models")
    a.set_defaults(func=cmd_activate)
    v = sub.add_parser("versions", help="list model versions, * marks current")
    v.add_argument("--models-dir", default="models")
    v.set_defaults(func=cmd_versions)
    s = sub.add_parser("stats", help="rows, label shares and target kinds of labelled data (balance check)")
    s.add_argument("data", nargs="*", default=["starter"], help="files or directories, or 'starter' (default)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_stats)
    add_retrain_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, BundleError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _entry(command: str) -> Callable[[], None]:
    return lambda: sys.exit(main([command, *sys.argv[1:]]))


train_main, evaluate_main, predict_main = _entry("train"), _entry("evaluate"), _entry("predict")
