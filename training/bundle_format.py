"""How a model's bytes are stored: skops (no code runs on load), old joblib/pickle bundles only when allowed.

skops is scikit-learn's documented safe format: a zip of JSON and numpy arrays that is rebuilt from a
whitelist of types. The whitelist is `TRUSTED_TYPES`, written here in the code, never read from a bundle:
skops' own defaults (scikit-learn, numpy, scipy) plus the project's estimator classes. A bundle naming
any other type is refused before anything is built. What is stored is the fitted heads and their
parameters (the fields of `HaltungModel` except `version`/`manifest`, which the manifest carries).

Pickle (joblib) runs code while loading, so a bundle that still has a `model.joblib` is refused unless
the caller allows it: `HALTUNG_ALLOW_PICKLE_BUNDLES=true` (the service's setting, and the variable the
`python -m training` commands read). Retrain once to convert: new bundles are always skops.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile

import joblib
import skops
import skops.io as sio

from training.errors import BundleError
from training.model import HaltungModel

SKOPS, PICKLE = "skops", "joblib"
ALLOW_PICKLE_ENV = "HALTUNG_ALLOW_PICKLE_BUNDLES"
SKOPS_VERSION: str = skops.__version__
NOT_STORED = ("version", "manifest")  # HaltungModel fields the manifest carries, not the model file

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
    state = {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.name not in NOT_STORED}
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

