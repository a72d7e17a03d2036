"""How a model's bytes are stored: skops (no code runs on load), old joblib/pickle bundles only when allowed.

skops is scikit-learn's documented safe format: a zip of JSON and numpy arrays that is rebuilt from a
whitelist of types. The whitelist is `TRUSTED_TYPES`, written here in the code, never read from a bundle:
skops' own defaults (scikit-learn, numpy, scipy) plus the project's estimator classes. A bundle naming
any other type is refused before anything is built. What is stored is the fitted heads and their
parameters (the fields of `HaltungModel` except `version`/`manifest`, which the manifest carries).

skops writes a dict entry by entry as JSON nodes, and rebuilding the default model's 303,410
vocabulary entries that way took 106 s (against 5.6 s for joblib; one run each on a busy machine). So
each fitted `vocabulary_` is stored packed: its terms as one UTF-8 byte array with end offsets, its
column ids as an integer array (plain numpy arrays, which skops stores as .npy), and the estimator keeps
the index of its packed vocabulary until loading unpacks it.

Pickle (joblib) runs code while loading, so a bundle that still has a `model.joblib` is refused unless
the caller allows it: `HALTUNG_ALLOW_PICKLE_BUNDLES=true` (the service's setting, and the variable the
`python -m training` commands read). New bundles are always skops; `python -m training.convert` re-saves old ones.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import joblib
import numpy as np
import skops
import skops.io as sio

from training.errors import BundleError
from training.model import HaltungModel

SKOPS, PICKLE = "skops", "joblib"
ALLOW_PICKLE_ENV = "HALTUNG_ALLOW_PICKLE_BUNDLES"
SKOPS_VERSION: str = skops.__version__
NOT_STORED = ("version", "manifest")  # HaltungModel fields the manifest carries, not the model file
VOCABULARIES = "packed_vocabularies"  # the key of the packed vocabularies in the stored state

# The project's own classes a stored model may contain; everything else must be on skops' default list.
TRUSTED_TYPES: tuple[str, ...] = (
    "training.fastvec.FastPipeline",
    "training.fastvec.FastPolarityFeatures",
    "training.fastvec.FastTfidfVectorizer",
    "training.features.QuestionFlag",
    "training.features.TargetViews",
    "training.lexicon.PolarityFeatures",
)


def pickle_allowed_by_env() -> bool:
    """`HALTUNG_ALLOW_PICKLE_BUNDLES` as a boolean (false when unset): the CLI's way to allow old bundles."""
    return os.environ.get(ALLOW_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def encode(model: HaltungModel) -> bytes:
    """The model's fitted fields as skops bytes (deterministic for one model: same bytes, same SHA-256)."""
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.name not in NOT_STORED}
    state: dict[str, Any] = copy.deepcopy(fields)  # the caller's model keeps its vocabularies
    packed: list[dict[str, np.ndarray]] = []
    for estimator in _estimators(state):
        vocabulary = vars(estimator).get("vocabulary_")
        if isinstance(vocabulary, dict):
            packed.append(_pack(vocabulary))
            estimator.vocabulary_ = len(packed) - 1
    state[VOCABULARIES] = packed
    payload: bytes = sio.dumps(state, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    return payload


def decode(payload: bytes, where: str) -> HaltungModel:
    """Rebuild a model from skops bytes, trusting only `TRUSTED_TYPES` (BundleError for anything else)."""
    try:
        untrusted = sorted(set(sio.get_untrusted_types(data=payload)) - set(TRUSTED_TYPES))
    except Exception as err:  # not a skops file at all (damaged zip, missing schema ...)
        raise BundleError(f"{where} is not a readable skops file: {type(err).__name__}: {err}") from None
    if untrusted:
        raise BundleError(
            f"{where} contains types outside the trusted list: {', '.join(untrusted)}; refusing to load it",
            {"untrusted_types": untrusted},
        )
    try:
        state = sio.loads(payload, trusted=list(TRUSTED_TYPES))
        if not isinstance(state, dict):
            raise TypeError(f"expected the model's fields, got {type(state).__name__}")
        packed = state.pop(VOCABULARIES, [])
        for estimator in _estimators(state):
            index = vars(estimator).get("vocabulary_")
            if isinstance(index, int):
                estimator.vocabulary_ = _unpack(packed[index])
        return HaltungModel(**state)
    except Exception as err:  # trusted types that still do not rebuild: refuse, never crash the caller
        raise BundleError(f"{where} could not be loaded: {type(err).__name__}: {err}") from None


def decode_pickle(payload: bytes, where: str, allowed: bool) -> HaltungModel:
    """An old joblib bundle: unpickled only when `allowed`, since unpickling runs code."""
    if not allowed:
        raise BundleError(
            f"{where} is a pickle (joblib) bundle, which runs code when loaded; refusing it. Retrain to get a "
            f"skops bundle, or set {ALLOW_PICKLE_ENV}=true if you trust whoever can write the models directory",
            {"format": PICKLE, "setting": ALLOW_PICKLE_ENV},
        )
    try:
        model = joblib.load(io.BytesIO(payload))
    except Exception as err:
        raise BundleError(f"{where} could not be loaded: {type(err).__name__}: {err}") from None
    if not isinstance(model, HaltungModel):
        raise BundleError(f"{where} does not hold a HaltungModel")
    return model



def _estimators(root: Any) -> Iterator[Any]:
    """Every scikit-learn estimator inside `root` (dicts, lists, tuples, estimators' attributes), once each."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple):
            stack.extend(obj)
        elif hasattr(obj, "get_params") and not isinstance(obj, type):
            yield obj
            stack.extend(vars(obj).values())


def _pack(vocabulary: dict[str, int]) -> dict[str, np.ndarray]:
    encoded = [term.encode("utf-8") for term in vocabulary]
    return {
        "utf8": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        "ends": np.cumsum([len(term) for term in encoded], dtype=np.int64),
        "ids": np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary)),
    }


def _unpack(packed: dict[str, np.ndarray]) -> dict[str, int]:
    blob, ends = packed["utf8"].tobytes(), packed["ends"].tolist()
    starts = [0, *ends[:-1]]
    terms = [blob[start:end].decode("utf-8") for start, end in zip(starts, ends, strict=True)]
    return dict(zip(terms, packed["ids"].tolist(), strict=True))
