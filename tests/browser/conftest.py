"""Fixtures of the browser tests: Debian's chromium driven by Playwright, against a real uvicorn server.

Chromium comes from `scripts/install-test-deps.sh` (called by `.ci/run`): under CI=true a missing browser
fails the tests, elsewhere they skip with the reason. Every request the browser makes is recorded, and a
test fails if any went to a host other than the service. Screenshots go to HALTUNG_SCREENSHOTS if set
(README's docs/screenshots are made that way), else to the test's tmp_path; a failing step leaves
`FAILED-<step>.png` there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ServerProcess, running_uvicorn, service_env
from tests.retrain_support import API_KEY, Base, build_base

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def _chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    message = f"{reason}: run scripts/install-test-deps.sh (apt-get install chromium) and pip install -e '.[dev]'"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        _unavailable("Debian's chromium is not installed")
    assert path is not None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """A small real model (fast grid) whose manifest points at small base data, so a retrain takes seconds."""
    return build_base(tmp_path_factory.mktemp("browser-base"))


@pytest.fixture
def server(base: Base, tmp_path: Path) -> Iterator[ServerProcess]:
    """A real uvicorn with its own models and data directories and an API key.

    The default HALTUNG_LABEL_HOLDOUT: with the handful of labels the golden path stores (fewer than
    `training.retrain.MIN_LABELS_TO_HOLD_OUT`), every one is trained on, so the corrected label is certainly
    part of the candidate's training data.
    """
    env = service_env(
        HALTUNG_MODELS_DIR=str(base.copy_to(tmp_path / "models")),
        HALTUNG_DATA_DIR=str(tmp_path / "data"),
        HALTUNG_API_KEYS=API_KEY,
        HALTUNG_TRAIN_FAST="true",
        HALTUNG_RELOAD_INTERVAL="0.2",
    )
    with running_uvicorn(env) as process:
        yield process


def screenshot_dir(tmp_path: Path) -> Path:
    where = os.environ.get("HALTUNG_SCREENSHOTS")
    out = Path(where) if where else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclass
class Browser:
    """One page in a fresh browser context, its requests, and numbered screenshots per step."""

    page: Any  # playwright.sync_api.Page (imported only when chromium is there)
    base_url: str
    shots: Path
    requests: list[str] = field(default_factory=list)
    steps: int = 0

    @contextlib.contextmanager
    def step(self, name: str, *, full_page: bool = False) -> Iterator[None]:
        """Run one step; screenshot it when it passes, and as FAILED-<name>.png when it fails."""
        self.steps += 1
        try:
            yield
        except BaseException:
            self.page.screenshot(path=self.shots / f"FAILED-{name}.png", full_page=True)
            raise
        self.page.screenshot(path=self.shots / f"{self.steps:02d}-{name}.png", full_page=full_page)

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [url for url in self.requests if urlsplit(url).netloc != own and not url.startswith("data:")]


@pytest.fixture
def browser(chromium_path: str, server: ServerProcess, tmp_path: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=server.base_url)
        context.set_default_timeout(30_000)
        page = context.new_page()
        session = Browser(page, server.base_url, screenshot_dir(tmp_path))
        page.on("request", lambda request: session.requests.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield session
        finally:
            context.close()
            chromium.close()
        assert not errors, f"JavaScript errors: {errors}"
        assert session.requests, "the browser made no request at all"
        assert not session.foreign_requests(), f"requests to other hosts: {session.foreign_requests()}"
