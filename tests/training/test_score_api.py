"""Batch scoring and the service give the same answer: the same sentences, offsets, labels, scores and
summaries for the same documents and targets (one code path, `training.analysis`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from tests.tiny_model import save_tiny_model
from training.cli import main

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "kim_putin_waffendeal.txt"
DOCUMENTS = [
    {"id": "kim", "text": ARTICLE.read_text(encoding="utf-8")},
    {"id": "kurz", "text": "Russland ist kein verlässlicher Partner.\nDer Kreml weist die Vorwürfe zurück."},
    {"id": "markup", "text": "< /p>Die Regierung&nbsp;in Berlin hat die Warnungen ignoriert.<br>Mehr: Russland"},
]
API_TARGETS = [{"name": "Russland", "aliases": ["Moskau", "Kreml"]}, "Ukraine", "Soll Deutschland mehr Waffen liefern?"]
CLI_TARGETS = ["Russland=Moskau|Kreml", "Ukraine", "Soll Deutschland mehr Waffen liefern?"]


@pytest.mark.parametrize("unmentioned", ["null", "score"])
async def test_score_output_equals_the_api_answer(tmp_path: Path, unmentioned: str) -> None:
    models_dir = tmp_path / "models"
    save_tiny_model(models_dir)
    settings = Settings(models_dir=models_dir, data_dir=tmp_path / "data", reload_interval=3600)
    body = {"documents": DOCUMENTS, "targets": API_TARGETS, "unmentioned": unmentioned, "explain": 2}
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    api = response.json()

    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCUMENTS), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["score", "--models-dir", str(models_dir), "--in", str(data), "--out", str(out), "--explain", "2"]
    assert main([*args, "--targets", *CLI_TARGETS, "--unmentioned", unmentioned]) == 0
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    assert [d.pop("model_version") for d in scored] == [api["model_version"]] * len(DOCUMENTS)
    assert scored == api["documents"]  # sentences (offsets, labels, scores, explanations) and summaries
