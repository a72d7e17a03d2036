"""Command line: `python -m training {train,evaluate,predict,score,check,activate,versions,retrain,stats}`.

Every command reaches the models through the model repository; every expected failure is a
`HaltungError` (or an OSError) and ends the command with exit code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from training.check import check_model, format_table
from training.data import read_examples, write_jsonl
from training.errors import HaltungError
from training.evaluate import evaluate, format_report
from training.fit import DEFAULT_SPACE, SearchSpace
from training.model import HaltungModel
from training.overlap import training_overlap
from training.repository import DirectoryRepository
from training.retrain import FAST_ENV, FAST_SPACE, promote, read_labels, retrain
from training.score_cli import add_score_parser
from training.score_output import atomic_path, write_flat_csv
from training.stance import StanceResult, score_rows
from training.stats import data_stats, format_stats
from training.train import train_and_save

PREDICT_FORMATS = (".jsonl", ".csv")  # chosen by the output's extension


def _progress() -> Callable[[str], None]:
    start = time.monotonic()
    return lambda message: print(f"[{time.monotonic() - start:6.1f}s] {message}", file=sys.stderr, flush=True)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temporary file and rename: a reader sees the whole file or none."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load(model: str, models_dir: str) -> HaltungModel:
    """`--model` is a bundle directory, or a version name / 'current' inside `--models-dir`."""
    if model == "current":
        return DirectoryRepository(models_dir).load_current()
    path = Path(model)
    if path.is_dir():
        return DirectoryRepository(path.resolve().parent).load(path.resolve().name)
    return DirectoryRepository(models_dir).load(model)


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
    examples = read_examples(args.data)  # every file validated first, all problems reported at once
    overlap = training_overlap(model.manifest, args.data, len(examples))
    if overlap.warning():
        print(overlap.warning(), file=sys.stderr)
    report = evaluate(model, examples)
    report["model"] = model.version
    report["training_rows_in_evaluation"] = {"rows": overlap.seen, "of": overlap.total, "from": list(overlap.sources)}
    print(format_report(report))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    if args.out != "-" and Path(args.out).suffix.lower() not in PREDICT_FORMATS:
        raise HaltungError(f"cannot write {args.out}: predict writes {' or '.join(PREDICT_FORMATS)} (or - for stdout)")
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
        with atomic_path(Path(args.out)) as tmp:
            if Path(args.out).suffix.lower() == ".csv":
                write_flat_csv(rows, tmp)
            else:
                with open(tmp, "w", encoding="utf-8") as out:
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
    DirectoryRepository(args.models_dir).activate(args.version, by="cli")  # verified before `current` moves
    print(f"current model is now {args.version}")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    repository = DirectoryRepository(args.models_dir)
    current = repository.current()
    for m in repository.versions():
        mark = "*" if m.version == current else " "
        print(f"{mark} {m.version}  {m.created_at or ''}  dev macro-F1 {m.dev_macro_f1()}")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    if args.nice:
        os.nice(args.nice)
    fast = args.fast or os.environ.get(FAST_ENV) == "1"
    repository = DirectoryRepository(args.models_dir)
    result = retrain(
        repository,
        read_labels(Path(args.labels)),
        tolerance=args.tolerance,
        holdout=args.holdout,
        force=args.force,
        space=FAST_SPACE if fast else DEFAULT_SPACE,
        progress=_progress(),
    )
    result = promote(repository, result, by="cli retrain")
    if args.result:
        write_json_atomic(Path(args.result), result.to_json())
    print(f"{result.status}: candidate {result.candidate_version} (baseline {result.baseline_version})")
    return 0


def add_retrain_parser(sub: Any) -> None:
    r = sub.add_parser("retrain", help="train on base data + labels, gate against the current model, promote")
    r.add_argument("--models-dir", default="models")
    r.add_argument("--labels", required=True, help="JSONL of labels (e.g. GET /v1/labels/export)")
    r.add_argument("--tolerance", type=float, default=0.01, help="largest macro-F1 drop per head (default 0.01)")
    r.add_argument("--holdout", type=float, default=0.2, help="share of labels held out for evaluation")
    r.add_argument("--force", action="store_true", help="promote even if the quality gate fails")
    r.add_argument("--fast", action="store_true", help=f"tiny search grid, for tests (also {FAST_ENV}=1)")
    r.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority (serving comes first)")
    r.add_argument("--result", help="write the result JSON here (atomically)")
    r.set_defaults(func=cmd_retrain)


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
            c.add_argument("--out", required=True, help="output file, .jsonl or .csv (by extension), or - for stdout")
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
    add_score_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (HaltungError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _entry(command: str) -> Callable[[], None]:
    return lambda: sys.exit(main([command, *sys.argv[1:]]))


train_main, evaluate_main, predict_main = _entry("train"), _entry("evaluate"), _entry("predict")
score_main = _entry("score")
