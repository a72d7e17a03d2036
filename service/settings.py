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
    # --- limits and failure behaviour (README "Limits and failure behaviour"; service/limits.py) -------------
    max_work: int = Field(
        50_000, ge=1, description="work budget of one classify request: sentences × (1 + targets) × (1 + explain)"
    )
    max_chars: int = Field(
        250_000, ge=1, description="most characters of text, documents or sentences per request, before splitting"
    )
    max_response_bytes: int = Field(
        16_777_216, ge=1024, description="largest classify answer; refused (413) when its estimate is larger"
    )
    max_in_flight: int = Field(4, ge=1, description="classify requests working at once, per worker process")
    max_queued: int = Field(16, ge=0, description="classify requests waiting for a slot; beyond that 503")
    queue_timeout: float = Field(2.0, ge=0, description="seconds a classify request waits for a slot before 503")
    segmenters: int = Field(2, ge=1, le=64, description="SoMaJo segmenters per worker (about 1.5 MB each)")
    header_timeout: float = Field(10.0, gt=0, description="seconds a client has to send the request headers (408)")
    body_timeout: float = Field(30.0, gt=0, description="seconds a client has to send the whole request body (408)")
    keepalive_timeout: int = Field(5, ge=1, description="seconds an idle keep-alive connection stays open")
    switch_interval: float = Field(
        0.001, gt=0, le=0.1, description="seconds a busy thread keeps the GIL while the event loop waits for it"
    )
    api_keys: str = Field("", description="comma-separated API keys for write endpoints; empty disables them")
    gate_tolerance: float = Field(0.01, ge=0, le=1, description="largest macro-F1 drop a retrained model may show")
    label_holdout: float = Field(0.2, ge=0, lt=1, description="share of stored labels held out to evaluate retrains")
    reload_interval: float = Field(1.0, gt=0, description="seconds between checks of models/current (hot swap)")
    train_fast: bool = Field(False, description="retrain with a one-point search grid (tests only, not production)")
    # Label Studio ML backend (issue 14, service/routes/labelstudio.py)
    labelstudio_target: str = Field(
        "", max_length=300, description="stance target of Label Studio tasks without a `target` data field"
    )
    labelstudio_retrain: bool = Field(
        False, description="queue a retrain after a Label Studio annotation event stored labels"
    )
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
