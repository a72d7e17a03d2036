"""Size and load time of one model as a joblib (pickle) bundle and as a skops bundle, with the same predictions.

    python bench/bundle_format.py MODELS_DIR

MODELS_DIR's current bundle is loaded (a joblib one with pickle allowed: run this only on bundles you
trust), saved again as skops in a temporary directory, and both are loaded once through `load_bundle`
(SHA-256 check, decoding, the one-sentence check). One run each: on a busy machine the times are rough.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from training.bundle import LEGACY_MODEL_FILE, MODEL_FILE, load_bundle
from training.repository import DirectoryRepository

TEXTS = ["Die Regierung hat die Warnungen ignoriert.", "Der Euro legte deutlich zu."]


def main(models_dir: Path) -> None:
    version = (models_dir / "current").read_text(encoding="utf-8").strip()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / version
        shutil.copytree(models_dir / version, old)
        started = time.perf_counter()
        model = load_bundle(old, allow_pickle=True)
        old_s = time.perf_counter() - started
        repository = DirectoryRepository(Path(tmp) / "skops")
        new = repository.save(model, {"data": model.manifest.data.model_dump()})
        started = time.perf_counter()
        loaded = repository.load(new)
        new_s = time.perf_counter() - started
        old_file = old / LEGACY_MODEL_FILE if (old / LEGACY_MODEL_FILE).is_file() else old / MODEL_FILE
        same = all((model.predict_proba(h, TEXTS) == loaded.predict_proba(h, TEXTS)).all() for h in model.heads)
        print(f"model {version}")
        print(f"{old_file.name}: {old_file.stat().st_size} bytes, loaded in {old_s:.2f} s")
        print(f"{MODEL_FILE}: {(repository.root / new / MODEL_FILE).stat().st_size} bytes, loaded in {new_s:.2f} s")
        print(f"same predictions: {same}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "models"))
