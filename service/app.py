"""The FastAPI application factory.

Heavy objects (the verified model, the SoMaJo segmenter, the label store) are built once in
`lifespan` and kept on `app.state`; routes reach them through `service.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI

from service.admission import Admission
from service.errors import install_error_handlers
from service.guard import RequestGuard
from service.logs import AccessLog, configure_logging
from service.metrics import Metrics
from service.model_store import ModelStore, seed_repository
from service.openapi import describe_limits
from service.pool import PoolStore
from service.retrainer import open_retraining
from service.routes import classify, jobs, labels, meta, models
from service.routes import pool as pool_routes
from service.routes.labelstudio import router as labelstudio_router  # issue 14: Label Studio ML backend
from service.routes.v2 import describe_served_version
from service.routes.v2 import router as v2_router  # issue 14: Open Inference Protocol
from service.routes.web import install_web
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
        # Scoring threads hold the GIL; a short switch interval lets the event loop (and so every small
        # request) take it back within about a millisecond instead of 5 ms per hand-off (Python's default).
        sys.setswitchinterval(settings.switch_interval)
        repository = DirectoryRepository(settings.models_dir, allow_pickle=settings.allow_pickle_bundles)
        seeded = await asyncio.to_thread(seed_repository, repository, settings.seed_models_dir)
        if seeded:
            log.info("seeded models from %s, current %s", settings.seed_models_dir, seeded)
        store = ModelStore(repository, on_swap=metrics.served_version)
        await asyncio.to_thread(store.refresh)
        if store.model is None:
            log.warning("starting without a model: %s", store.error)
        app.state.store = store
        app.state.segmenter = await asyncio.to_thread(Segmenter, settings.segmenters)
        retraining = await open_retraining(app, settings, store)  # app.state.labels/jobs/retrainer
        app.state.pool = await asyncio.to_thread(PoolStore.in_dir, settings.data_dir)  # the review queue
        watcher = asyncio.create_task(store.watch(settings.reload_interval))
        try:
            yield
        finally:
            await retraining.close()
            app.state.pool.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    # /docs and /redoc are served by service.routes.web from local files (they work offline).
    app = FastAPI(
        title="Haltung", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.admission = Admission(settings.max_in_flight, settings.max_queued, settings.queue_timeout)
    install_error_handlers(app)
    app.include_router(classify.router)
    app.include_router(meta.router)
    for router in (labels.router, jobs.router, models.router):
        app.include_router(router)
    app.include_router(pool_routes.router)
    app.include_router(v2_router)  # /v2: Open Inference Protocol (errors in the protocol's shape)
    describe_served_version(app)  # the served version as the example of /v2 {version} parameters
    app.include_router(labelstudio_router)  # /labelstudio: Label Studio ML backend API
    install_web(app)  # the workbench pages at /, their static files, and the offline /docs
    describe_limits(app, settings)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, body_timeout=settings.body_timeout)
    app.add_middleware(AccessLog, metrics=metrics)
    return app
