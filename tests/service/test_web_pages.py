"""The workbench pages and the offline docs: served by the app, every asset local, nothing from the internet."""

from __future__ import annotations

import re

import httpx
import pytest

from service.examples import reference_article

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAGES = {"/": "Read", "/review": "Review", "/retrain": "Retrain", "/models": "Models"}
_ASSET = re.compile(r"""(?:src|href)=["']([^"'#]+)["']""")
_URL = re.compile(r"""https?://(?!www\.w3\.org/)""")  # an XML namespace is a name, not a request


async def _assets(client: httpx.AsyncClient, html: str) -> list[str]:
    links = [link for link in _ASSET.findall(html) if not link.startswith("/") or link.startswith("/static/")]
    for link in links:
        assert link.startswith("/static/"), f"a page links to {link!r}: not a local asset"
        response = await client.get(link)
        assert response.status_code == 200, link
        assert not _URL.search(response.text) or link.startswith("/static/docs/"), f"{link} loads from a URL"
    return links


@pytest.mark.parametrize(("path", "title"), PAGES.items())
async def test_each_page_is_a_local_html_shell(client: httpx.AsyncClient, path: str, title: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f"<title>{title} · Haltung workbench</title>" in html
    assert response.headers["content-security-policy"].startswith("default-src 'self';")
    assert 'aria-current="page"' in html  # the nav marks the page itself
    assert not _URL.search(html), "a page must not reference any other host"
    links = await _assets(client, html)
    assert "/static/common.js" in links and "/static/workbench.css" in links
    assert any(link.endswith(".js") and link != "/static/common.js" for link in links)  # the page's own script


async def test_pages_say_why_they_are_read_only_without_a_key(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert "Read-only: no API key in this browser session" in html
    assert 'class="needs-key"' in html  # the pool button is disabled by common.js until a key is typed


async def test_the_api_key_lives_in_session_storage_and_the_authorization_header_only(
    client: httpx.AsyncClient,
) -> None:
    script = (await client.get("/static/common.js")).text
    assert "sessionStorage" in script and "localStorage" not in script
    assert "headers.Authorization = `Bearer ${key()}`" in script
    for name in ("read", "review", "retrain", "models"):
        page_script = (await client.get(f"/static/{name}.js")).text
        assert "key()" not in page_script.replace("H.key()", ""), f"{name}.js must use the key only via the API helper"


async def test_pages_are_not_part_of_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not set(PAGES) & set(paths)
    assert "/v1/jobs/{job_id}/events" in paths and "/v1/jobs/{job_id}/changes" in paths


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_work_offline(client: httpx.AsyncClient, path: str) -> None:
    """Swagger UI and ReDoc come from the fastapi-offline package's files, served here: no CDN."""
    response = await client.get(path)
    assert response.status_code == 200
    scripts = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    external = [s for s in scripts if _URL.match(s)]
    assert not external, f"{path} loads {external}"
    assert "fonts.googleapis" not in response.text
    for asset in scripts:
        got = await client.get(asset)
        assert got.status_code == 200 and len(got.content) > 0, asset
    assert "/openapi.json" in response.text


async def test_the_reference_article_is_still_the_docs_example(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/v1/classify"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert examples["article"]["value"]["text"] == reference_article()


async def test_unknown_static_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/nope.js")).status_code == 404
