"""`python -m training score` (also `haltung-score`): its arguments, and targets as the command line gives them.

Targets: `--targets Russland=Moskau|Kreml Nordkorea "Soll das Tempolimit kommen?"` (a name, a name with
aliases after `=` separated by `|`, or a question), or `--targets-file t.json` holding the API's
`targets` list (`["Putin", {"name": "Russland", "aliases": ["Kreml"]}]`). The rules are the API's:
unique names, aliases of at most four words, no aliases on a question.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from training.errors import HaltungError
from training.score import Options, resolve_model, score_files
from training.score_input import DEFAULT_ID_COLUMN, DEFAULT_TEXT_COLUMN, Columns
from training.targets import Target

MAX_NAME, MAX_ALIAS, MAX_ALIASES = 300, 100, 20  # the API's limits (service.schemas)


def parse_target(spec: str) -> Target:
    """`Name`, `Name=alias1|alias2`, or a question (which takes no aliases)."""
    name, _, aliases = spec.partition("=") if not Target(spec).is_question else (spec, "", "")
    return Target(name.strip(), tuple(a.strip() for a in aliases.split("|") if a.strip()))


def read_targets_file(path: Path) -> list[Target]:
    """The API's `targets` list from a JSON file."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HaltungError(f"{path}: not a JSON targets list ({err})") from None
    if not isinstance(items, list):
        raise HaltungError(f"{path}: expected a JSON list of targets, got {type(items).__name__}")
    return [_target_item(path, i, item) for i, item in enumerate(items)]


def _target_item(path: Path, index: int, item: Any) -> Target:
    if isinstance(item, str):
        return Target(item.strip())
    if isinstance(item, dict) and isinstance(item.get("name"), str) and set(item) <= {"name", "aliases"}:
        aliases = item.get("aliases", [])
        if isinstance(aliases, list) and all(isinstance(a, str) for a in aliases):
            return Target(item["name"].strip(), tuple(a.strip() for a in aliases))
    raise HaltungError(f"{path}: target {index} must be a name or {{'name': ..., 'aliases': [...]}}, got {item!r}")


def check_targets(targets: list[Target]) -> tuple[Target, ...]:
    """The API's rules for targets; one error listing every broken one."""
    problems = []
    names = [t.name for t in targets]
    for t in targets:
        if not t.name or len(t.name) > MAX_NAME:
            problems.append(f"target {t.name!r}: a name has 1 to {MAX_NAME} characters")
        if t.aliases and t.is_question:
            problems.append(f"target {t.name!r}: a question is answered by the whole text and takes no aliases")
        if len(t.aliases) > MAX_ALIASES:
            problems.append(f"target {t.name!r}: at most {MAX_ALIASES} aliases")
        for alias in t.aliases:
            if len(alias) > MAX_ALIAS or Target(alias).is_question:
                problems.append(f"target {t.name!r}: alias {alias!r} must be a name of at most four words")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"target names must be unique; repeated: {repeated}")
    if problems:
        raise HaltungError("bad targets:\n  " + "\n  ".join(problems), problems)
    return tuple(Target(t.name, tuple(dict.fromkeys(t.aliases))) for t in targets)


def cmd_score(args: argparse.Namespace) -> int:
    targets = [parse_target(t) for t in args.targets or ()]
    if args.targets_file:
        targets += read_targets_file(Path(args.targets_file))
    options = Options(check_targets(targets), args.explain, args.unmentioned)
    columns = Columns(args.text_column, args.id_column or DEFAULT_ID_COLUMN, id_required=args.id_column is not None)
    result = score_files(
        args.inputs,
        args.out,
        resolve_model(args.model, args.models_dir),
        columns=columns,
        options=options,
        workers=args.workers,
        progress=None if not args.quiet else False,
    )
    print(
        f"scored {result.documents} documents ({result.sentences} sentences) with model {result.model_version} "
        f"in {result.seconds:.1f} s: {args.out}",
        file=sys.stderr,
    )
    return 0


def _workers(value: str) -> int:
    workers = int(value)
    if workers < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return workers


def add_score_parser(sub: Any) -> None:
    s = sub.add_parser(
        "score",
        help="score articles from files (.txt, folders, .jsonl/.csv) into .jsonl, .csv or .parquet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--model", default="current", help="bundle directory, version, or 'current' (default)")
    s.add_argument("--models-dir", default="models", help="where 'current' and versions are looked up")
    s.add_argument("--in", dest="inputs", nargs="+", required=True, help=".txt files, folders, .jsonl or .csv files")
    s.add_argument("--out", required=True, help="output file: .jsonl (nested), .csv or .parquet (flat)")
    s.add_argument("--targets", nargs="+", metavar="TARGET", help="Name, Name=alias1|alias2, or a question")
    s.add_argument("--targets-file", help="JSON list of targets, as the API's `targets`")
    s.add_argument("--text-column", default=DEFAULT_TEXT_COLUMN, help="text column of .jsonl/.csv (default: text)")
    s.add_argument(
        "--id-column", help=f"id column of .jsonl/.csv (default: {DEFAULT_ID_COLUMN} where present, else file:line)"
    )
    s.add_argument("--workers", type=_workers, default=1, help=f"processes (this machine has {os.cpu_count()} CPUs)")
    s.add_argument("--explain", type=int, default=0, help="top-k features per decision (.jsonl only)")
    s.add_argument(
        "--unmentioned", choices=("null", "score"), default="null", help="as the API: no stance, or a tone guess"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a TTY)")
    s.set_defaults(func=cmd_score)
