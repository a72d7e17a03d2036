"""`python -m training score`: every input and output format, ids, targets, errors with file and line,
atomic output, streaming, and the same output with one worker or two."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import training.score as score_module
from tests.tiny_model import save_tiny_model
from training.cli import main
from training.errors import HaltungError
from training.progress import Progress
from training.score import CHUNK_DOCS, ModelRef, Options, Scorer, chunks, resolve_model, scored_chunks
from training.score_cli import check_targets, parse_target
from training.score_input import InputDoc
from training.score_output import atomic_path
from training.targets import Target

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "kim_putin_waffendeal.txt"
TARGETS = ["Russland=Moskau|Kreml", "Pjöngjang=Nordkorea", "Putin"]  # the article names Nordkorea, never Pjöngjang
SHORT = [
    "Die Regierung in Berlin hat die Warnungen monatelang ignoriert. Kritiker sprechen von einem Versagen.",
    "Russland ist kein verlässlicher Partner.\nDer Kreml weist die Vorwürfe zurück.",
    "Der Euro legte deutlich zu. Anleger zeigten sich erleichtert.",
    "Mehr: Russland",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("score-models")
    save_tiny_model(directory)
    return directory


def score(models_dir: Path, *args: str | Path) -> int:
    return main(["score", "--models-dir", str(models_dir), *map(str, args)])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_txt_file_gives_one_nested_document_with_exact_offsets(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    assert score(models_dir, "--in", ARTICLE, "--targets", *TARGETS, "--out", out) == 0
    [doc] = read_jsonl(out)
    text = ARTICLE.read_text(encoding="utf-8")
    assert doc["id"] == str(ARTICLE)
    assert doc["model_version"] == (models_dir / "current").read_text().strip()
    assert len(doc["sentences"]) > 20
    for s in doc["sentences"]:
        assert text[s["start"] : s["end"]] == s["text"]
        assert [e["target"] for e in s["stance"]] == ["Russland", "Pjöngjang", "Putin"]
    by_alias = [e for s in doc["sentences"] for e in s["stance"] if e["mention"] and e["mention"]["via"] == "alias"]
    assert by_alias and {e["mention"]["text"] for e in by_alias} == {"Nordkorea"}  # from Name=alias1|alias2
    assert all(e["label"] for e in by_alias)
    assert [t["target"] for t in doc["summary"]["stance"]] == ["Russland", "Pjöngjang", "Putin"]
    assert any(s["boilerplate"] for s in doc["sentences"])  # "Mehr: Russland", the contact line ...


def test_a_folder_of_txt_files_gives_one_document_per_file_in_name_order(models_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(SHORT[0], encoding="utf-8")
    (folder / "a.txt").write_text(SHORT[1], encoding="utf-8")
    (folder / "sub" / "c.txt").write_text(SHORT[2], encoding="utf-8")
    (folder / "notes.md").write_text("ignored", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    assert score(models_dir, "--in", folder, "--out", out) == 0
    docs = read_jsonl(out)
    assert [d["id"] for d in docs] == [str(folder / "a.txt"), str(folder / "b.txt"), str(folder / "sub" / "c.txt")]
    assert [len(d["sentences"]) for d in docs] == [2, 2, 2]
    assert all(s["stance"] == [] for d in docs for s in d["sentences"])  # no targets: no stance entries


def test_jsonl_input_with_named_columns_to_csv_one_row_per_sentence_and_target(
    models_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "in.jsonl", [{"key": f"k{i}", "body": t} for i, t in enumerate(SHORT[:3])])
    nested, flat = tmp_path / "nested.jsonl", tmp_path / "flat.csv"
    common = ["--in", data, "--text-column", "body", "--id-column", "key", "--targets", "Russland=Kreml", "Regierung"]
    assert score(models_dir, *common, "--out", nested) == 0
    assert score(models_dir, *common, "--out", flat) == 0
    docs = read_jsonl(nested)
    with flat.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [d["id"] for d in docs] == ["k0", "k1", "k2"]
    assert len(rows) == 2 * sum(len(d["sentences"]) for d in docs)
    assert list(rows[0]) == [
        "doc_id", "sentence_index", "start", "end", "text", "boilerplate", "sentiment", "sentiment_negative",
        "sentiment_neutral", "sentiment_positive", "target", "mentioned", "mention", "basis", "stance",
        "stance_against", "stance_favor", "stance_neutral", "model_version",
    ]  # fmt: skip
    by_key = {(r["doc_id"], int(r["sentence_index"]), r["target"]): r for r in rows}
    for doc in docs:
        for s in doc["sentences"]:
            for entry in s["stance"]:
                row = by_key[(doc["id"], s["index"], entry["target"])]
                assert (int(row["start"]), int(row["end"]), row["text"]) == (s["start"], s["end"], s["text"])
                assert row["sentiment"] == s["sentiment"]["label"]
                assert float(row["sentiment_negative"]) == s["sentiment"]["scores"]["negative"]
                assert row["mentioned"] == str(entry["mentioned"])
                assert row["stance"] == (entry["label"] or "")
                assert row["mention"] == (entry["mention"]["text"] if entry["mention"] else "")
    kreml = by_key[("k1", 1, "Russland")]
    assert (kreml["mentioned"], kreml["mention"], kreml["basis"]) == ("True", "Kreml", "mention")
    assert by_key[("k2", 0, "Russland")]["stance"] == ""  # not mentioned: no stance, as in the API


def test_csv_input_with_quoted_line_breaks_to_parquet(models_dir: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is in the dev extra")
    data = tmp_path / "in.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "topic"])
        writer.writerows([[SHORT[1], "Politik"], [SHORT[2], "Wirtschaft"]])
    out = tmp_path / "out.parquet"
    assert score(models_dir, "--in", data, "--targets", "Russland", "--out", out) == 0
    table = pq.read_table(out).to_pylist()
    assert {r["doc_id"] for r in table} == {"in.csv:2", "in.csv:4"}  # the line each record starts on
    assert [r["text"] for r in table if r["doc_id"] == "in.csv:2"] == SHORT[1].split("\n")
    assert all(isinstance(r["sentiment_positive"], float) and r["target"] == "Russland" for r in table)
    assert pq.read_schema(out).field("mentioned").type == "bool"


def test_ids_default_to_the_id_column_then_file_and_line(models_dir: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "in.jsonl", [{"id": 7, "text": SHORT[0]}, {"text": SHORT[2]}])
    out = tmp_path / "out.jsonl"
    assert score(models_dir, "--in", data, "--out", out) == 0
    assert [d["id"] for d in read_jsonl(out)] == ["7", "in.jsonl:2"]


def test_bad_input_names_file_and_line_and_writes_nothing(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text(
        json.dumps({"text": SHORT[0]}) + "\n\n{not json\n" + json.dumps({"txt": "x"}) + "\n"
        + json.dumps({"text": "  "}) + "\n[1, 2]\n",
        encoding="utf-8",
    )  # fmt: skip
    bad_csv = tmp_path / "in.csv"
    bad_csv.write_text("title,body\nA,B\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    out.write_text("an earlier result\n", encoding="utf-8")
    assert score(models_dir, "--in", data, bad_csv, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 5 problem(s) in the input data:")
    assert f"{data}:3: not valid JSON" in err
    assert f"{data}:4: no 'text' column" in err
    assert f"{data}:5: 'text' is empty" in err
    assert f"{data}:6: expected a JSON object, got list" in err
    assert f"{bad_csv}:1: header has no column ['text']" in err
    assert out.read_text(encoding="utf-8") == "an earlier result\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "in.jsonl", "out.csv"]  # no temp file left


def test_bad_utf8_and_missing_files_are_named(models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    txt = tmp_path / "a.txt"
    txt.write_bytes("Erste Zeile.\nZweite \xff Zeile.".encode("latin-1"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert score(models_dir, "--in", txt, empty, tmp_path / "missing.jsonl", "--out", tmp_path / "o.jsonl") == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'missing.jsonl'}: no such file or folder" in err
    txt_only = tmp_path / "only"
    txt_only.mkdir()
    (txt_only / "a.txt").write_bytes(txt.read_bytes())
    (txt_only / "b.jsonl").write_text("\n", encoding="utf-8")
    assert score(models_dir, "--in", txt_only, "--out", tmp_path / "o.jsonl") == 2
    err = capsys.readouterr().err
    assert f"{txt_only / 'a.txt'}:2: not valid UTF-8" in err
    assert f"{txt_only / 'b.jsonl'}: no documents in this file" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_a_failure_while_scoring_leaves_no_half_written_file(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fault injection: the third chunk fails after two were written; the output keeps its old content."""
    data = write_jsonl(tmp_path / "in.jsonl", [{"text": SHORT[i % 3]} for i in range(3 * CHUNK_DOCS)])
    out = tmp_path / "out.jsonl"
    out.write_text("old\n", encoding="utf-8")
    real, calls = score_module.analyse, itertools.count()

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if next(calls) == 2:
            raise HaltungError("injected failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(score_module, "analyse", failing)
    assert score(models_dir, "--in", data, "--out", out) == 2
    assert "injected failure" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_atomic_path_renames_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("partial", encoding="utf-8")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole", encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
    assert target.read_text(encoding="utf-8") == "whole"
    plain = tmp_path / "plain"
    plain.write_text("", encoding="utf-8")
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # not mkstemp's private 0600


def test_two_workers_write_exactly_what_one_worker_writes(models_dir: Path, tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "text": f"{SHORT[i % 4]} Meldung {i}."} for i in range(5 * CHUNK_DOCS + 3)]
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    for suffix in ("jsonl", "csv"):
        one, two = tmp_path / f"one.{suffix}", tmp_path / f"two.{suffix}"
        args = ["--in", data, "--targets", "Russland=Kreml", "Regierung"]
        assert score(models_dir, *args, "--out", one, "--workers", "1") == 0
        assert score(models_dir, *args, "--out", two, "--workers", "2") == 0
        assert one.read_bytes() == two.read_bytes()
    assert [d["id"] for d in read_jsonl(tmp_path / "two.jsonl")] == [r["id"] for r in rows]


def _endless() -> Iterator[InputDoc]:
    for i in itertools.count():
        yield InputDoc(str(i), SHORT[i % 3])


@pytest.mark.parametrize("workers", [1, 2])
def test_documents_stream_through_in_order(models_dir: Path, workers: int) -> None:
    """An endless input is scored chunk by chunk: nothing reads the whole input first (constant memory)."""
    ref = resolve_model("current", models_dir)
    stream = scored_chunks(chunks(_endless()), Options((Target("Russland"),)), model=ref.load(), ref=ref,
                           workers=workers)  # fmt: skip
    first = list(itertools.islice(stream, 3))
    stream.close()  # type: ignore[attr-defined]
    assert [d["id"] for part in first for d in part] == [str(i) for i in range(3 * CHUNK_DOCS)]


def test_scorer_output_is_the_analysis_of_the_service(models_dir: Path) -> None:
    """The same functions the service calls, on the same document: identical sentences and summary."""
    from training import analyse, segment

    ref = resolve_model("current", models_dir)
    scorer = Scorer(ref.load())
    text = ARTICLE.read_text(encoding="utf-8")
    targets = (Target("Russland", ("Kreml",)), Target("Putin"))
    [mine] = scorer.score([InputDoc("a", text)], Options(targets))
    docs = segment(scorer.segmenter, text=text, max_sentences=10_000)
    [theirs] = analyse(scorer.model, docs, targets, 0)["documents"]
    assert mine["sentences"] == theirs["sentences"] and mine["summary"] == theirs["summary"]


def test_model_is_found_as_current_as_version_or_as_directory(models_dir: Path) -> None:
    version = (models_dir / "current").read_text().strip()
    assert resolve_model("current", models_dir) == ModelRef(models_dir, version)
    assert resolve_model(version, models_dir) == ModelRef(models_dir, version)
    assert resolve_model(str(models_dir / version), "elsewhere") == ModelRef(models_dir.resolve(), version)


def test_no_current_model_and_bad_output_names_are_clear_errors(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["score", "--models-dir", str(tmp_path), "--in", str(ARTICLE), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "no current model" in capsys.readouterr().err
    assert score(models_dir, "--in", ARTICLE, "--out", tmp_path / "o.xlsx") == 2
    assert "extension must be one of .jsonl, .csv, .parquet" in capsys.readouterr().err
    assert score(models_dir, "--in", ARTICLE, "--explain", "3", "--out", tmp_path / "o.csv") == 2
    assert "--explain needs a .jsonl output" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    assert score(models_dir, "--in", ARTICLE, "--out", tmp_path / "o.parquet") == 2
    assert "writing .parquet needs pyarrow" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_targets_take_aliases_from_the_command_line_or_a_json_file(models_dir: Path, tmp_path: Path) -> None:
    assert parse_target("Russland=Moskau|Kreml") == Target("Russland", ("Moskau", "Kreml"))
    assert parse_target("Soll das Tempolimit kommen?") == Target("Soll das Tempolimit kommen?")
    file = tmp_path / "targets.json"
    file.write_text(json.dumps(["Putin", {"name": "Russland", "aliases": ["Kreml"]}]), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert score(models_dir, "--in", ARTICLE, "--targets", "Ukraine", "--targets-file", file, "--out", out) == 0
    [doc] = read_jsonl(out)
    assert [t["target"] for t in doc["summary"]["stance"]] == ["Ukraine", "Putin", "Russland"]


def test_targets_follow_the_api_rules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(HaltungError, match="repeated: \\['Putin'\\]"):
        check_targets([Target("Putin"), Target("Putin")])
    with pytest.raises(HaltungError, match="takes no aliases"):
        check_targets([Target("Soll das Tempolimit kommen?", ("Tempo",))])
    with pytest.raises(HaltungError, match="at most four words"):
        check_targets([Target("Russland", ("der Staat im Osten Europas",))])
    file = tmp_path / "t.json"
    file.write_text('{"name": "x"}', encoding="utf-8")
    assert main(["score", "--in", str(ARTICLE), "--targets-file", str(file), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "expected a JSON list of targets" in capsys.readouterr().err


def test_progress_bar_shows_rate_and_eta_and_is_quiet_off_a_terminal() -> None:
    shown = io.StringIO()
    bar = Progress(40, stream=shown, enabled=True)
    bar.advance(10)
    assert "10/40 docs" in bar.line() and "docs/s" in bar.line() and "ETA" in bar.line()
    bar.close()
    assert shown.getvalue().endswith("\n") and "40 docs" in shown.getvalue()
    silent = io.StringIO()  # not a TTY
    quiet = Progress(40, stream=silent)
    quiet.advance(40)
    quiet.close()
    assert not quiet.enabled and silent.getvalue() == ""


def test_the_console_command_runs_and_says_what_it_did(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    done = subprocess.run(
        [sys.executable, "-m", "training", "score", "--models-dir", str(models_dir), "--in", str(ARTICLE),
         "--targets", "Russland", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("scored 1 documents (") and "\r" not in done.stderr  # no bar off a TTY
    assert out.read_text(encoding="utf-8").startswith("doc_id,sentence_index,start,end,text")


def test_predict_picks_its_format_by_extension_and_refuses_others(
    models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", [{"text": "Russland ist kein Partner.", "target": "Russland"}])
    base = ["predict", "--models-dir", str(models_dir), "--data", str(data), "--out"]
    assert main([*base, str(tmp_path / "p.csv")]) == 0
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["text"] == "Russland ist kein Partner." and row["mention_text"] == "Russland"
    assert row["predicted_stance"] in ("favor", "against", "neutral") and float(row["stance_scores_favor"]) >= 0
    assert main([*base, str(tmp_path / "p.jsonl")]) == 0
    assert json.loads((tmp_path / "p.jsonl").read_text(encoding="utf-8"))["mention"]["via"] == "name"
    capsys.readouterr()
    assert main([*base, str(tmp_path / "p.parquet")]) == 2
    assert "predict writes .jsonl or .csv" in capsys.readouterr().err
    assert not (tmp_path / "p.parquet").exists()


def test_on_a_terminal_the_command_draws_a_progress_bar(models_dir: Path, tmp_path: Path) -> None:
    """stderr on a pseudo-terminal, as in an interactive shell: the bar is drawn in place, with rate and ETA."""
    import os
    import pty

    data = write_jsonl(tmp_path / "in.jsonl", [{"text": SHORT[i % 4]} for i in range(3 * CHUNK_DOCS)])
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "training", "score", "--models-dir", str(models_dir), "--in", str(data),
               "--out", str(tmp_path / "o.jsonl")]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower) as p:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            shown += chunk
        assert p.wait(timeout=180) == 0
    os.close(leader)
    text = shown.decode("utf-8")
    assert f"\r[{'#' * 24}] {3 * CHUNK_DOCS}/{3 * CHUNK_DOCS} docs 100%" in text
    assert "docs/s" in text and "ETA" in text
