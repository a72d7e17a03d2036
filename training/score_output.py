"""Writing scored documents, by the output's extension: .jsonl (nested, one API document per line), .csv
and .parquet (flat: one row per sentence and target).

Every writer writes to a temporary file beside the output and renames it only when all went well
(`atomic_path`): a failed or interrupted run never leaves a half-written file under the output's name.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from training.errors import HaltungError

FORMATS = (".jsonl", ".csv", ".parquet")
PARQUET_ROWS = 16_384  # rows per Parquet row group: bounded memory, still large enough to compress well


class Writer(Protocol):
    def write(self, document: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


def output_format(path: Path, explain: int = 0) -> str:
    """The format named by the extension; refused clearly before any work is done."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise HaltungError(f"cannot write {path}: the extension must be one of {', '.join(FORMATS)}")
    if explain and suffix != ".jsonl":
        raise HaltungError("explanations are nested: --explain needs a .jsonl output")
    if suffix == ".parquet":
        _pyarrow()  # fail before scoring, not after
    if not path.parent.is_dir():
        raise HaltungError(f"cannot write {path}: folder {path.parent} does not exist")
    return suffix


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it when the block succeeds and removed when it fails."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # the permissions of a file opened for writing, not mkstemp's private 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def flat_columns(labels: Mapping[str, Sequence[str]]) -> list[str]:
    """The columns of the flat formats; one score column per label of each head (`sentiment_negative`)."""
    return [
        "doc_id",
        "sentence_index",
        "start",
        "end",
        "text",
        "boilerplate",
        "sentiment",
        *(f"sentiment_{label}" for label in labels.get("sentiment", ())),
        "target",
        "mentioned",
        "mention",
        "basis",
        "stance",
        *(f"stance_{label}" for label in labels.get("stance", ())),
        "model_version",
    ]


def flat_rows(document: Mapping[str, Any], labels: Mapping[str, Sequence[str]]) -> Iterator[dict[str, Any]]:
    """One row per sentence and target (one row per sentence without targets), stance columns null where
    the sentence does not mention the target, as in the API."""
    for sentence in document["sentences"]:
        row: dict[str, Any] = {
            "doc_id": document["id"],
            "sentence_index": sentence["index"],
            "start": sentence["start"],
            "end": sentence["end"],
            "text": sentence["text"],
            "boilerplate": sentence["boilerplate"],
            **_head("sentiment", sentence["sentiment"], labels),
            "model_version": document["model_version"],
        }
        for stance in sentence["stance"] or [None]:
            mention = stance["mention"] if stance else None
            yield {
                **row,
                "target": stance["target"] if stance else None,
                "mentioned": stance["mentioned"] if stance else None,
                "mention": mention["text"] if mention else None,
                "basis": stance["basis"] if stance else None,
                **_head("stance", stance, labels),
            }


def _head(head: str, result: Mapping[str, Any] | None, labels: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    scores = (result or {}).get("scores") or {}
    out: dict[str, Any] = {head: (result or {}).get("label")}
    out.update({f"{head}_{label}": scores.get(label) for label in labels.get(head, ())})
    return out


class JsonlWriter:
    def __init__(self, path: Path) -> None:
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def write(self, document: Mapping[str, Any]) -> None:
        self._file.write(json.dumps(document, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._file.close()


class CsvWriter:
    def __init__(self, path: Path, labels: Mapping[str, Sequence[str]]) -> None:
        self._labels = labels
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.DictWriter(self._file, fieldnames=flat_columns(labels))
        self._csv.writeheader()

    def write(self, document: Mapping[str, Any]) -> None:
        self._csv.writerows(flat_rows(document, self._labels))

    def close(self) -> None:
        self._file.close()


class ParquetWriter:
    """Rows buffered up to `PARQUET_ROWS`, then written as one row group: memory stays bounded."""

    def __init__(self, path: Path, labels: Mapping[str, Sequence[str]]) -> None:
        pa, pq = _pyarrow()
        self._pa, self._labels = pa, labels
        text, real, integer, flag = pa.string(), pa.float64(), pa.int32(), pa.bool_()
        types = {"sentence_index": integer, "start": integer, "end": integer, "boilerplate": flag, "mentioned": flag}
        self._schema = pa.schema(
            [(c, real if c.startswith(("sentiment_", "stance_")) else types.get(c, text)) for c in flat_columns(labels)]
        )
        self._writer = pq.ParquetWriter(str(path), self._schema)
        self._rows: list[dict[str, Any]] = []

    def write(self, document: Mapping[str, Any]) -> None:
        self._rows.extend(flat_rows(document, self._labels))
        if len(self._rows) >= PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(self._pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def open_writer(path: Path, fmt: str, labels: Mapping[str, Sequence[str]]) -> Writer:
    if fmt == ".jsonl":
        return JsonlWriter(path)
    if fmt == ".csv":
        return CsvWriter(path, labels)
    return ParquetWriter(path, labels)


def write_flat_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Rows with nested values as CSV (`predict`): a dict becomes `key_subkey` columns, a list JSON text."""
    flat = [_flatten(row) for row in rows]
    columns = list(dict.fromkeys(key for row in flat for key in row))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(flat)


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}_"))
        else:
            out[name] = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
    return out


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise HaltungError(
            "writing .parquet needs pyarrow, which is not installed: pip install 'haltung[parquet]' "
            "(or write .csv / .jsonl)"
        ) from None
    return pa, pq
