"""The behaviour runner's logic on a tiny real model: verdicts per kind, the report, the `check` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tiny_model import save_tiny_model
from training.behaviour import CAPABILITIES, load_suite
from training.behaviour.cases import DIR_MARGIN, Case, parse_case
from training.check import format_table, run_suite, summarise
from training.cli import main
from training.model import HaltungModel
from training.stance import score_stance
from training.targets import Target

GOOD_NEWS = "Die Mannschaft feiert einen großartigen Sieg und die Fans jubeln."
BAD_NEWS = "Bei dem schweren Anschlag starben viele Menschen, Hunderte wurden verletzt."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[HaltungModel, Path]:
    models_dir = tmp_path_factory.mktemp("check-models")
    model = save_tiny_model(models_dir)
    return model, models_dir / str(model.version)


def case(**row: Any) -> Case:
    return parse_case({"capability": "negation", **row})


def verdicts(model: HaltungModel, *cases: Case) -> list[bool]:
    return [o.passed for o in run_suite(model, cases)]


def test_mft_passes_exactly_when_the_answer_is_acceptable(tiny: tuple[HaltungModel, Path]) -> None:
    model = tiny[0]
    said = model.predict("sentiment", [GOOD_NEWS])[0].label
    other = next(label for label in model.labels("sentiment") if label != said)
    stance = score_stance(model, [GOOD_NEWS], [Target("Mannschaft")])[0][0].label
    assert stance is not None
    assert verdicts(
        model,
        case(kind="mft", text=GOOD_NEWS, expect={"sentiment": said}),
        case(kind="mft", text=GOOD_NEWS, expect={"sentiment": other}),
        case(kind="mft", text=GOOD_NEWS, expect={"sentiment": [other, said]}),
        case(kind="mft", text=GOOD_NEWS, target="Mannschaft", expect={"stance": stance}),
        case(kind="mft", text=GOOD_NEWS, target="Mannschaft", expect={"stance": None}),
    ) == [True, False, True, True, False]


def test_unmentioned_targets_pass_only_a_null_expectation(tiny: tuple[HaltungModel, Path]) -> None:
    text = "Die Ukraine feiert einen Erfolg."
    assert verdicts(
        tiny[0],
        case(kind="mft", text=text, target="Russland", expect={"stance": None}),
        case(kind="mft", text=text, target="Russland", expect={"stance": ["neutral", "against", "favor"]}),
        case(kind="mft", text=text, target="Russland", expect={"stance": ["neutral", None]}),
    ) == [True, False, True]


def test_mention_expectations_check_how_and_where_the_target_was_found(tiny: tuple[HaltungModel, Path]) -> None:
    target = {"name": "Russland", "aliases": ["Moskau", "Kreml"]}
    text = "Der Kreml wies die Vorwürfe zurück."
    any_label = ["favor", "against", "neutral"]
    assert verdicts(
        tiny[0],
        case(kind="mft", text=text, target=target, expect={"stance": {"label": any_label, "via": "alias"}}),
        case(kind="mft", text=text, target=target, expect={"stance": {"label": any_label, "mention": "kreml"}}),
        case(kind="mft", text=text, target=target, expect={"stance": {"label": any_label, "via": "derived"}}),
        case(kind="mft", text=text, target=target, expect={"stance": {"label": any_label, "mention": "Moskau"}}),
        case(kind="mft", text=text, target="Russland", expect={"stance": {"label": any_label, "via": "alias"}}),
    ) == [True, True, False, False, False]


def test_dir_compares_the_label_probability_of_base_and_variant(tiny: tuple[HaltungModel, Path]) -> None:
    model = tiny[0]
    good, bad = (p.scores["positive"] for p in model.predict("sentiment", [GOOD_NEWS, BAD_NEWS]))
    assert good - bad > DIR_MARGIN, "the tiny model should tell these two apart"

    def d(base: str, variant: str, change: str) -> Case:
        return case(kind="dir", texts=[base, variant], expect={"sentiment": {"label": "positive", "change": change}})

    assert verdicts(
        model,
        d(GOOD_NEWS, BAD_NEWS, "down"),
        d(BAD_NEWS, GOOD_NEWS, "down"),
        d(BAD_NEWS, GOOD_NEWS, "not_down"),
        d(GOOD_NEWS, BAD_NEWS, "not_down"),
    ) == [True, False, True, False]


def test_dir_fails_when_the_target_is_not_found(tiny: tuple[HaltungModel, Path]) -> None:
    texts = ["Russland ist ein verlässlicher Partner.", "Die Ukraine ist ein verlässlicher Partner."]
    dir_case = case(
        kind="dir", texts=texts, target="Russland", expect={"stance": {"label": "favor", "change": "not_down"}}
    )
    outcome = run_suite(tiny[0], [dir_case])[0]
    assert not outcome.passed and outcome.got[1]["scores"] is None


def test_inv_needs_the_same_label_for_every_variant(tiny: tuple[HaltungModel, Path]) -> None:
    model = tiny[0]
    good, bad = (p.label for p in model.predict("sentiment", [GOOD_NEWS, BAD_NEWS]))
    assert good != bad
    same = [GOOD_NEWS, GOOD_NEWS.replace("großartigen", "großartigen, ")]
    assert model.predict("sentiment", same)[1].label == good
    assert verdicts(
        model,
        case(kind="inv", texts=[GOOD_NEWS, BAD_NEWS], expect={"sentiment": "same"}),
        case(kind="inv", texts=same, expect={"sentiment": "same"}),
    ) == [False, True]


def test_summary_counts_per_capability_and_head_and_lists_failures(tiny: tuple[HaltungModel, Path]) -> None:
    model = tiny[0]
    said = model.predict("sentiment", [GOOD_NEWS])[0].label
    other = next(label for label in model.labels("sentiment") if label != said)
    cases = [
        case(id="a", kind="mft", text=GOOD_NEWS, expect={"sentiment": said}),
        case(id="b", kind="mft", text=GOOD_NEWS, expect={"sentiment": other}),
        parse_case(
            {"id": "c", "capability": "unmentioned", "kind": "mft", "text": GOOD_NEWS, "target": "Russland"}
            | {"expect": {"stance": None}}
        ),
    ]
    report = summarise(run_suite(model, cases), model.version)
    assert report["model"] == model.version and report["cases"] == 3
    rows = {(r["capability"], r["head"]): r for r in report["results"]}
    assert set(rows) == {("negation", "sentiment"), ("unmentioned", "stance")}
    negation = rows[("negation", "sentiment")]
    assert (negation["cases"], negation["passed"], negation["pass_rate"]) == (2, 1, 0.5)
    assert [f["id"] for f in negation["failures"]] == ["b"]
    assert negation["failures"][0]["texts"] == [GOOD_NEWS]
    assert negation["failures"][0]["got"][0]["label"] == said
    assert rows[("unmentioned", "stance")]["pass_rate"] == 1.0
    assert report["overall"] == {"cases": 3, "passed": 2, "pass_rate": round(2 / 3, 4)}
    table = format_table(report, failures=5)
    assert "| negation | sentiment | 2 | 1 | 50.0% |" in table
    assert "FAIL negation/sentiment b:" in table


def test_check_command_prints_the_table_and_writes_the_report(
    tiny: tuple[HaltungModel, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, bundle = tiny
    report_file = tmp_path / "check.json"
    assert main(["check", "--model", str(bundle), "--report", str(report_file)]) == 0
    out = capsys.readouterr().out
    assert f"model {model.version}" in out and "| capability | head | cases | passed | pass rate |" in out
    report = json.loads(report_file.read_text(encoding="utf-8"))
    suite = load_suite()
    assert report["cases"] == len(suite)
    assert report["overall"]["cases"] == sum(len(c.heads) for c in suite)
    assert {r["capability"] for r in report["results"]} == set(CAPABILITIES)
    for row in report["results"]:
        assert f"| {row['capability']} | {row['head']} | {row['cases']} | {row['passed']} |" in out
        assert len(row["failures"]) == row["cases"] - row["passed"]


def test_check_command_finds_models_by_version_and_says_when_there_is_none(
    tiny: tuple[HaltungModel, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tiny[1]
    assert main(["check", "--model", bundle.name, "--models-dir", str(bundle.parent), "--failures", "1"]) == 0
    assert "  FAIL " in capsys.readouterr().out  # the tiny model fails some cases; one example per row is shown
    assert main(["check", "--model", "current", "--models-dir", str(tmp_path)]) == 2
    assert "no current model" in capsys.readouterr().err
