"""The manifest beside every bundle (`manifest.json`), as one typed object.

Every field a reader relies on is declared here once; keys this version does not know (written by a
newer or older Haltung) are kept and written back unchanged, and `to_json` gives exactly the keys that
were set, so an old bundle's manifest reads and serialises as it is on disk.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.errors import BundleError


class DataRecord(BaseModel):
    """What a model was trained and evaluated on, by reference ("starter" or a resolved path)."""

    model_config = ConfigDict(extra="allow")

    train: list[str] = Field(default_factory=list)
    dev: list[str] = Field(default_factory=list)
    dev_fraction: float = 0.0
    seed: int = 0
    train_fingerprint: dict[str, Any] | None = None
    dev_fingerprint: dict[str, Any] | None = None


class Manifest(BaseModel):
    """Version, provenance and figures of one bundle; `sha256` guards the model file."""

    model_config = ConfigDict(extra="allow")

    version: str | None = None
    created_at: str | None = None
    sha256: str | None = None
    runtime: dict[str, str] = Field(default_factory=dict, description="python, scikit-learn, joblib versions")
    heads: dict[str, list[str]] = Field(default_factory=dict, description="labels per head")
    hyperparameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    data: DataRecord = Field(default_factory=DataRecord)
    metrics: dict[str, Any] = Field(default_factory=dict, description="the dev evaluation report")
    label_counts: dict[str, dict[str, int]] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Any) -> Manifest:
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            raise BundleError(f"manifest of {_name(raw)} does not match the manifest schema: {err}") from None

    def to_json(self) -> dict[str, Any]:
        """The manifest as stored: the keys that were set, unknown ones included."""
        return self.model_dump(exclude_unset=True)

    def dev_macro_f1(self) -> dict[str, float | None]:
        """Per head the dev macro-F1 recorded at training time."""
        return {head: report.get("macro_f1") for head, report in self.metrics.get("heads", {}).items()}


def _name(raw: Any) -> str:
    return repr(raw.get("version")) if isinstance(raw, dict) else "a bundle"
