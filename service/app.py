"""The FastAPI application factory.

Heavy objects (the verified model, the SoMaJo segmenter, the label store) are built once in
`lifespan` and kept on `app.state`; routes reach them through `service.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from service.errors import install_error_handlers
from service.guard import RequestGuard
from service.logs import AccessLog, configure_logging
from service.metrics import Metrics
from service.model_store import ModelStore, seed_repository
from service.retrainer import open_retraining
from service.routes import classify, jobs, labels, meta, models
from service.settings import Settings
from training import DirectoryRepository, Segmenter

log = logging.getLogger("haltung")

DESCRIPTION = """Stance and sentiment of German news, sentence by sentence.

POST an article (`text`), several (`documents`) or pre-split `sentences` to `/v1/classify`; every
sentence comes back with its sentiment and its stance toward each requested target, with
probabilities. Write endpoints need `Authorization: Bearer <key>` (HALTUNG_API_KEYS).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        repository = DirectoryRepository(settings.models_dir, allow_pickle=settings.allow_pickle_bundles)
        seeded = await asyncio.to_thread(seed_repository, repository, settings.seed_models_dir)
        if seeded:
            log.info("seeded models from %s, current %s", settings.seed_models_dir, seeded)
        store = ModelStore(repository, on_swap=metrics.served_version)
        await asyncio.to_thread(store.refresh)
        if store.model is None:
            log.warning("starting without a model: %s", store.error)
        app.state.store = store
        app.state.segmenter = await asyncio.to_thread(Segmenter)
        retraining = await open_retraining(app, settings, store)  # app.state.labels/jobs/retrainer
        watcher = asyncio.create_task(store.watch(settings.reload_interval))
        try:
            yield
        finally:
            await retraining.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(title="Haltung", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(classify.router)
    app.include_router(meta.router)
    for router in (labels.router, jobs.router, models.router):
        app.include_router(router)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, metrics=metrics)
    return app
