"""Run the behaviour suite (training/behaviour) against a model: pass rates per capability and head.

Stance is read exactly as the service and the CLI read it, through `training.stance.score_stance`
(a target the sentence does not mention gets no stance), so the suite tests what a user gets.
Every sentence is scored once: one stance batch per distinct target, one sentiment batch in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from training.behaviour import CAPABILITIES, Case, load_suite
from training.behaviour.cases import DIR_MARGIN, CaseTarget, Expectation
from training.model import HaltungModel
from training.stance import StanceResult, score_stance
from training.targets import Target


@dataclass(frozen=True, slots=True)
class Outcome:
    """One head's verdict on one case; `got` is what the model answered, per text."""

    case: Case
    head: str
    passed: bool
    got: list[dict[str, Any]]


class Answers:
    """The model's answers for every (text, target) the cases need, computed in a few batches."""

    def __init__(self, model: HaltungModel, cases: Sequence[Case]) -> None:
        by_target: dict[CaseTarget, list[str]] = {}  # stance cases always name a target (parse_case checks)
        sentiment_texts: list[str] = []
        for case in cases:
            if "stance" in case.expect:
                for text, target in zip(case.texts, case.targets, strict=True):
                    if target is not None:
                        by_target.setdefault(target, []).append(text)
            if "sentiment" in case.expect:
                sentiment_texts.extend(case.texts)
        self.stance: dict[tuple[str, CaseTarget | None], StanceResult] = {}
        for target, texts in by_target.items():
            unique = list(dict.fromkeys(texts))
            rows = score_stance(model, unique, [Target(target.name, target.aliases)])
            self.stance.update({(text, target): row[0] for text, row in zip(unique, rows, strict=True)})
        unique = list(dict.fromkeys(sentiment_texts))
        predictions = model.predict("sentiment", unique) if unique else []
        self.sentiment = {text: (p.label, p.scores) for text, p in zip(unique, predictions, strict=True)}

    def answer(self, head: str, text: str, target: CaseTarget | None) -> dict[str, Any]:
        """`label`, `scores` (None when no stance is given) and, for stance, the `mention`."""
        if head == "sentiment":
            label, scores = self.sentiment[text]
            return {"label": label, "scores": scores}
        result = self.stance[(text, target)]
        mention = asdict(result.mention) if result.mention else None
        return {"label": result.label, "scores": result.scores, "mention": mention}


def _mft_passes(expect: Expectation, got: dict[str, Any]) -> bool:
    if got["label"] not in expect.labels:
        return False
    mention = got.get("mention")
    if expect.via and (mention is None or mention["via"] not in expect.via):
        return False
    return not (expect.mention and (mention is None or expect.mention.lower() not in mention["text"].lower()))


def _dir_passes(expect: Expectation, got: list[dict[str, Any]]) -> bool:
    base, variant = got
    if base["scores"] is None or variant["scores"] is None:
        return False  # the target was not found: no probability to compare
    change = float(variant["scores"][expect.label]) - float(base["scores"][expect.label])
    return change <= -DIR_MARGIN if expect.change == "down" else change >= -DIR_MARGIN


def judge(case: Case, head: str, answers: Answers) -> Outcome:
    expect = case.expect[head]
    got = [answers.answer(head, text, target) for text, target in zip(case.texts, case.targets, strict=True)]
    if case.kind == "mft":
        passed = _mft_passes(expect, got[0])
    elif case.kind == "inv":
        passed = len({g["label"] for g in got}) == 1
    else:
        passed = _dir_passes(expect, got)
    return Outcome(case, head, passed, got)


def run_suite(model: HaltungModel, cases: Sequence[Case] | None = None) -> list[Outcome]:
    """Every case's verdict for every head it tests."""
    cases = load_suite() if cases is None else cases
    answers = Answers(model, cases)
    return [judge(case, head, answers) for case in cases for head in case.heads]


def _failure(outcome: Outcome) -> dict[str, Any]:
    case = outcome.case
    expected = case.to_json()["expect"][outcome.head]
    got = [{**g, "scores": _rounded(g["scores"])} for g in outcome.got]
    targets = [t.to_json() if t else None for t in case.targets]
    return {
        "id": case.id,
        "kind": case.kind,
        "texts": list(case.texts),
        "targets": targets,
        "expected": expected,
        "got": got,
    }


def _rounded(scores: dict[str, float] | None) -> dict[str, float] | None:
    return {k: round(v, 3) for k, v in scores.items()} if scores else None


def summarise(outcomes: Sequence[Outcome], model_version: str | None = None) -> dict[str, Any]:
    """The report: per capability and head, cases, passed, pass rate and every failing case."""
    rows: list[dict[str, Any]] = []
    for capability in CAPABILITIES:
        for head in ("stance", "sentiment"):
            mine = [o for o in outcomes if o.case.capability == capability and o.head == head]
            if not mine:
                continue
            passed = sum(o.passed for o in mine)
            rows.append(
                {
                    "capability": capability,
                    "head": head,
                    "cases": len(mine),
                    "passed": passed,
                    "pass_rate": round(passed / len(mine), 4),
                    "failures": [_failure(o) for o in mine if not o.passed],
                }
            )
    total = sum(r["cases"] for r in rows)
    passed = sum(r["passed"] for r in rows)
    return {
        "model": model_version,
        "cases": len({o.case.id for o in outcomes}),
        "dir_margin": DIR_MARGIN,
        "overall": {"cases": total, "passed": passed, "pass_rate": round(passed / total, 4) if total else None},
        "results": rows,
    }


def check_model(model: HaltungModel, cases: Sequence[Case] | None = None) -> dict[str, Any]:
    return summarise(run_suite(model, cases), model.version)


def format_table(report: dict[str, Any], failures: int = 0) -> str:
    """A Markdown table (it goes into the README as it is), optionally with failing examples per row."""
    lines = ["| capability | head | cases | passed | pass rate |", "|---|---|---:|---:|---:|"]
    lines += [
        f"| {r['capability']} | {r['head']} | {r['cases']} | {r['passed']} | {100 * r['pass_rate']:.1f}% |"
        for r in report["results"]
    ]
    overall = report["overall"]
    if overall["cases"]:
        lines.append(f"| **all** | | {overall['cases']} | {overall['passed']} | {100 * overall['pass_rate']:.1f}% |")
    for r in report["results"] if failures else ():
        for f in r["failures"][:failures]:
            got = "; ".join(_describe(g) for g in f["got"])
            lines.append(f"  FAIL {r['capability']}/{r['head']} {f['id']}: {' | '.join(f['texts'])}")
            lines.append(f"       target {f['targets'][0]!r} expected {f['expected']!r}, got {got}")
    return "\n".join(lines)


def _describe(got: dict[str, Any]) -> str:
    text = str(got["label"])
    if got["scores"]:
        text += " " + ",".join(f"{k}={v:.2f}" for k, v in got["scores"].items())
    if got.get("mention"):
        text += f" mention={got['mention']['text']!r}/{got['mention']['via']}"
    return text
