"""The analyst's workbench: server-rendered page shells (service/web/templates) whose plain JavaScript
(service/web/static) calls the JSON API; and /docs (Swagger UI) and /redoc, served from local files so that
they work without internet.

Nothing here reads or writes data itself: every page goes through the public API, with the API key the
browser keeps in session storage. The pages are not part of the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"  # Swagger UI 5 and ReDoc, from PyPI
PAGES = {
    "read": ("/", "Read"),
    "review": ("/review", "Review"),
    "retrain": ("/retrain", "Retrain"),
    "models": ("/models", "Models"),
}

# The browser itself refuses anything from another host (scripts, styles, fetches, images); inline style
# attributes are allowed (the pages set bar widths and matrix shades with them), inline scripts are not.
CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"

templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


def _page(name: str) -> object:
    async def page(request: Request) -> HTMLResponse:
        context = {"page": name, "pages": PAGES}
        return templates.TemplateResponse(request, f"{name}.html", context, headers={"Content-Security-Policy": CSP})

    page.__name__ = f"{name}_page"
    page.__doc__ = f"The {PAGES[name][1]} page."
    return page


for _name, (_path, _title) in PAGES.items():
    router.add_api_route(_path, _page(_name), methods=["GET"], response_class=HTMLResponse)  # type: ignore[arg-type]


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from the fastapi-offline package's files: no CDN, so it works offline."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API docs",
        swagger_js_url="/static/docs/swagger-ui-bundle.js",
        swagger_css_url="/static/docs/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc from the same package's files, without Google's web fonts."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API reference",
        redoc_js_url="/static/docs/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )


def install_web(app: FastAPI) -> None:
    """Add the pages, their static files and the offline docs (create the app with docs_url=redoc_url=None)."""
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(router)
