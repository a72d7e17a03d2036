import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data next to the repo (licensed corpora read at run time, never copied in).

    Missing data fails under CI=true, so a broken CI checkout cannot pass silently, and skips
    locally.
    """
    # this file is <repo>/tests/conftest.py, so parents[1] is the repo root
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        message = f"../shared/data not found: {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
