"""Batch scoring of files: the offline twin of `POST /v1/classify`.

Documents stream from the inputs (`training.score_input`) in chunks through `segment` and `analyse`
(`training.analysis`), the very functions the service calls, and on to a writer
(`training.score_output`). With `workers > 1` each worker process loads its own model and segmenter
and at most `2 × workers` chunks are in flight, results written in input order: memory stays constant
in the number of documents, and the output does not depend on the number of workers (chunks are cut
from the input alone). Workers are started with "spawn" (a clean interpreter, no inherited locks or
threads), so a script that calls `score_files(..., workers=2)` needs the usual
`if __name__ == "__main__":` guard; the CLI has it.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.analysis import analyse, segment
from training.errors import HaltungError, NoCurrentModel
from training.model import HaltungModel
from training.progress import Progress
from training.repository import DirectoryRepository
from training.score_input import Columns, InputDoc, check_inputs, input_files, read_inputs
from training.score_output import atomic_path, open_writer, output_format
from training.segmentation import Segmenter
from training.stance import Unmentioned
from training.targets import Target

CHUNK_DOCS = 8  # documents per chunk: enough for one batched model call, small enough to keep workers even
CHUNK_CHARS = 60_000  # ... or fewer, when the documents are long
NO_LIMIT = sys.maxsize  # the service caps sentences per request; a file has no such limit


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A bundle pinned by version: every worker loads the same one, even if `current` moves meanwhile."""

    root: Path
    version: str

    def load(self) -> HaltungModel:
        return DirectoryRepository(self.root).load(self.version)  # SHA-256 verified before unpickling


def resolve_model(model: str, models_dir: str | Path = "models") -> ModelRef:
    """`model` is a bundle directory, a version in `models_dir`, or 'current' (through the repository)."""
    if model == "current":
        version = DirectoryRepository(models_dir).current()
        if version is None:
            raise NoCurrentModel(f"no current model in {models_dir}: run `python -m training train --data starter`")
        return ModelRef(Path(models_dir), version)
    path = Path(model)
    if path.is_dir():
        return ModelRef(path.resolve().parent, path.resolve().name)
    return ModelRef(Path(models_dir), model)


@dataclass(frozen=True, slots=True)
class Options:
    targets: tuple[Target, ...] = ()
    explain: int = 0
    unmentioned: Unmentioned = "null"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    documents: int
    sentences: int
    model_version: str
    seconds: float


class Scorer:
    """A model and a segmenter, built once per process; scores a chunk exactly as the service would."""

    def __init__(self, model: HaltungModel, segmenter: Segmenter | None = None) -> None:
        self.model, self.segmenter = model, segmenter or Segmenter()

    def score(self, chunk: Sequence[InputDoc], options: Options) -> list[dict[str, Any]]:
        docs = segment(self.segmenter, documents=[(d.id, d.text) for d in chunk], max_sentences=NO_LIMIT)
        result = analyse(self.model, docs, options.targets, options.explain, options.unmentioned)
        version = result["model_version"]
        return [{"id": d["id"], "model_version": version, **d} for d in result["documents"]]


_worker_scorer: Scorer | None = None


def _init_worker(ref: ModelRef) -> None:
    global _worker_scorer
    _worker_scorer = Scorer(ref.load())


def _score_in_worker(chunk: list[InputDoc], options: Options) -> list[dict[str, Any]]:
    assert _worker_scorer is not None, "worker not initialised"
    return _worker_scorer.score(chunk, options)


def chunks(docs: Iterable[InputDoc], size: int = CHUNK_DOCS, chars: int = CHUNK_CHARS) -> Iterator[list[InputDoc]]:
    chunk: list[InputDoc] = []
    length = 0
    for doc in docs:
        chunk.append(doc)
        length += len(doc.text)
        if len(chunk) >= size or length >= chars:
            yield chunk
            chunk, length = [], 0
    if chunk:
        yield chunk


def scored_chunks(
    parts: Iterable[list[InputDoc]], options: Options, *, model: HaltungModel, ref: ModelRef, workers: int
) -> Iterator[list[dict[str, Any]]]:
    """Scored chunks in input order; in this process, or in `workers` processes with a bounded window."""
    if workers <= 1:
        scorer = Scorer(model)
        for part in parts:
            yield scorer.score(part, options)
        return
    context = multiprocessing.get_context("spawn")  # a clean interpreter per worker: no inherited locks
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(ref,)) as pool:
            window: deque[Future[list[dict[str, Any]]]] = deque()
            try:
                for part in parts:
                    window.append(pool.submit(_score_in_worker, part, options))
                    if len(window) >= 2 * workers:
                        yield window.popleft().result()
                while window:
                    yield window.popleft().result()
            finally:
                for future in window:
                    future.cancel()
    except BrokenProcessPool as err:
        raise HaltungError(f"a scoring worker process died ({err}); try fewer --workers") from None


def score_files(
    inputs: Sequence[str | Path],
    out: str | Path,
    ref: ModelRef,
    *,
    columns: Columns | None = None,
    options: Options | None = None,
    workers: int = 1,
    progress: bool | None = None,
) -> ScoreResult:
    """Validate every input, then score it into `out` (format by extension), atomically."""
    started = time.monotonic()
    columns, options, out = columns or Columns(), options or Options(), Path(out)
    fmt = output_format(out, options.explain)
    files = input_files(inputs)
    total = check_inputs(files, columns)  # every problem with file and line, before any scoring
    model = ref.load()
    labels = {head: model.labels(head) for head in model.heads}
    bar = Progress(total, enabled=progress)
    documents = sentences = 0
    with atomic_path(out) as tmp:
        writer = open_writer(tmp, fmt, labels)
        try:
            parts = chunks(read_inputs(files, columns))
            useful = min(workers, -(-total // CHUNK_DOCS))  # no more processes than chunks (at least)
            for scored in scored_chunks(parts, options, model=model, ref=ref, workers=useful):
                for document in scored:
                    writer.write(document)
                    sentences += len(document["sentences"])
                documents += len(scored)
                bar.advance(len(scored))
        finally:
            writer.close()
    bar.close()
    return ScoreResult(documents, sentences, model.version or ref.version, time.monotonic() - started)
