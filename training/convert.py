"""Re-save old pickle (joblib) bundles as skops bundles, once, by someone who trusts them.

    HALTUNG_ALLOW_PICKLE_BUNDLES=true python -m training.convert [--models-dir models] [VERSION ...]

Without versions it converts the current one and makes the new bundle current (compare-and-swap: only
while the old one is still current). The new bundle keeps the old manifest's data, metrics and label
counts and records `converted_from`; the old bundle stays on disk. Unpickling runs code, so the command
refuses unless HALTUNG_ALLOW_PICKLE_BUNDLES=true says the operator trusts these files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from training.bundle_format import ALLOW_PICKLE_ENV, pickle_allowed_by_env
from training.errors import HaltungError, NoCurrentModel
from training.repository import DirectoryRepository

WRITTEN_BY_SAVE = ("version", "created_at", "sha256", "format", "runtime", "heads", "hyperparameters")


def convert(repository: DirectoryRepository, version: str) -> str:
    """Load `version` (pickle allowed by the repository) and save it again as skops; the new version."""
    model = repository.load(version)
    kept = {k: v for k, v in model.manifest.to_json().items() if k not in WRITTEN_BY_SAVE}
    return repository.save(model, {**kept, "converted_from": version})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.convert", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("versions", nargs="*", help="versions to convert (default: the current one)")
    parser.add_argument("--models-dir", default="models")
    args = parser.parse_args(argv)
    if not pickle_allowed_by_env():
        print(f"error: set {ALLOW_PICKLE_ENV}=true to unpickle the bundles you convert", file=sys.stderr)
        return 2
    repository = DirectoryRepository(args.models_dir, allow_pickle=True)
    try:
        current = repository.current()
        versions = args.versions or ([current] if current else [])
        if not versions:
            raise NoCurrentModel(f"no current model in {repository}")
        for version in versions:
            new = convert(repository, version)
            if version == current:
                repository.activate(new, expected_current=current, by="convert")
            print(f"{version} -> {new}{' (current)' if version == current else ''}")
    except (HaltungError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
