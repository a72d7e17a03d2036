"""All configuration in one typed object, read from `HALTUNG_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALTUNG_", extra="ignore")

    host: str = Field("127.0.0.1", description="address uvicorn binds to")
    port: int = Field(8000, ge=1, le=65535, description="port uvicorn listens on")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    models_dir: Path = Field(Path("models"), description="versioned model bundles and the `current` pointer")
    seed_models_dir: Path | None = Field(
        None, description="bundles copied into models_dir at start when it has no current model (container)"
    )
    data_dir: Path = Field(Path("data"), description="SQLite label store and retrain job records")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest accepted request body (413 above)")
    max_documents: int = Field(100, ge=1, description="most documents per classify request")
    max_sentences: int = Field(5000, ge=1, description="most sentences per classify request")
    max_targets: int = Field(20, ge=1, description="most stance targets per classify request")
    max_explain: int = Field(20, ge=0, description="largest `explain` (top-k features) a request may ask for")
    api_keys: str = Field("", description="comma-separated API keys for write endpoints; empty disables them")
    gate_tolerance: float = Field(0.01, ge=0, le=1, description="largest macro-F1 drop a retrained model may show")
    label_holdout: float = Field(0.2, ge=0, lt=1, description="share of stored labels held out to evaluate retrains")
    reload_interval: float = Field(1.0, gt=0, description="seconds between checks of models/current (hot swap)")
    train_fast: bool = Field(False, description="retrain with a one-point search grid (tests only, not production)")
    # Storage and model faults (issue 11)
    allow_pickle_bundles: bool = Field(
        False, description="also load old model.joblib (pickle) bundles; pickle runs code, so only if you trust them"
    )
    retrain_min_free_mb: int = Field(
        64, ge=0, description="free space a retrain needs on the data and models disks (503 storage_unavailable below)"
    )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.api_keys.split(",") if k.strip())

    def to_env(self) -> dict[str, str]:
        """These settings as HALTUNG_* variables: how a retrain job process gets exactly this configuration."""
        env = {}
        for name, value in self.model_dump().items():
            if value is not None:
                env[f"HALTUNG_{name.upper()}"] = str(int(value) if isinstance(value, bool) else value)
        return env
