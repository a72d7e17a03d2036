"""Label cursors that decode to numbers SQLite cannot hold answer 400, not 500 (issue 11, item 7).

Against the app with its lifespan entered (the real label store in a temporary SQLite file).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.settings import Settings
from tests.reliability.faults_support import API_KEY, AUTH, error_of
from tests.service.conftest import running_client
from tests.tiny_model import save_tiny_model

pytestmark = pytest.mark.asyncio(loop_scope="session")


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("cursor-models")
    save_tiny_model(models)
    return models


@pytest.fixture
async def client(models: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(models_dir=models, data_dir=tmp_path / "data", reload_interval=3600, api_keys=API_KEY)
    async with running_client(settings) as (_, client):
        yield client


@pytest.mark.parametrize(
    "value",
    [
        "c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5",  # the cursor: seq:99999999999999999999
        cursor(f"seq:{2**63}"),
        cursor("seq:" + "9" * 100),
        cursor("seq:²"),  # a digit to str.isdigit, not to int()
        cursor("seq:-1"),
    ],
)
async def test_out_of_range_cursors_answer_400(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/v1/labels", params={"cursor": value})
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "invalid_cursor"


async def test_the_largest_cursor_is_an_empty_last_page(client: httpx.AsyncClient) -> None:
    body = {"labels": [{"text": "Gut so.", "sentiment": "positive"}]}
    stored = await client.post("/v1/labels", json=body, headers=AUTH)
    assert stored.status_code == 201
    response = await client.get("/v1/labels", params={"cursor": cursor(f"seq:{2**63 - 1}")})
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}
