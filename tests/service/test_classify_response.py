"""POST /v1/classify sends scoring's dicts without a pydantic round trip: they must be exactly what the
documented response model (service.schemas.ClassifyResponse) would have produced, keys and order included."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.schemas import ClassifyResponse

pytestmark = pytest.mark.asyncio(loop_scope="session")

ARTICLE = (
    "Kim und Putin besiegeln ihren „Waffendeal“ in Wladiwostok\n"
    "Russland will seine Vorräte an Munition auffüllen.< /p>\n"
    "Die Regierung in Kiew warnte am Montag vor neuen Angriffen. Mehr: Russland\n"
)
REQUESTS: list[dict[str, Any]] = [
    {"text": ARTICLE, "targets": ["Russland", "Regierung"]},
    {"text": ARTICLE, "explain": 3, "targets": ["Russland"]},
    {"text": ARTICLE, "targets": [{"name": "Russland", "aliases": ["Kreml"]}, "Ukraine"], "unmentioned": "score"},
    {"text": ARTICLE, "explain": 2, "targets": ["Soll die EU Russland sanktionieren?", "Nordkorea"]},
    {"sentences": ["Die Regierung hat die Warnungen monatelang ignoriert."]},
    {"documents": [{"id": "a1", "text": "Der Euro legte zu. Anleger zeigten sich erleichtert."}, {"text": "Gut."}]},
]


@pytest.mark.parametrize("payload", REQUESTS)
async def test_response_is_what_the_response_model_serialises(client: httpx.AsyncClient, payload: dict) -> None:
    response = await client.post("/v1/classify", json=payload)
    assert response.status_code == 200
    sent = response.json()
    expected = ClassifyResponse.model_validate(sent).model_dump(mode="json")
    assert json.dumps(sent) == json.dumps(expected)  # same keys, nulls and key order


async def test_openapi_still_documents_the_response(app: FastAPI) -> None:
    schema = app.openapi()["paths"]["/v1/classify"]["post"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"]["$ref"].endswith("/ClassifyResponse")


def test_render_is_byte_for_byte_one_json_dumps() -> None:
    """The answer is rendered one sentence at a time (GIL hand-offs); the bytes equal one compact dumps."""
    import json

    from service.routes.classify import render

    result = {
        "model_version": "v1",
        "documents": [
            {
                "id": None,
                "sentences": [{"index": i, "text": f"Satz „{i}“ \\ ü", "scores": {"a": i / 7}} for i in range(300)],
                "summary": {"sentences": 300, "stance": [{"target": "Russland", "label": None}]},
            },
            {"id": "b", "sentences": [], "summary": {}},
        ],
    }
    expected = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    assert render(result) == expected
