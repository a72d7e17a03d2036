"""Check Haltung against a running Label Studio, through Label Studio's own REST API (a manual check, not CI).

    python examples/labelstudio/check_with_label_studio.py \\
        --label-studio http://127.0.0.1:8080 --token <Label Studio access token> \\
        --haltung http://127.0.0.1:8000 --key <a key from HALTUNG_API_KEYS>

It does what the README's set-up does by hand, on a new project: creates it with label_config.xml,
imports three tasks, connects Haltung as the model (Basic auth, the key as password), adds the
`Authorization: Bearer <key>` header to the webhook Label Studio creates for the model, retrieves
predictions, submits an annotation and waits until Haltung has stored it as a label; then it deletes
the project. `--token` is a personal access token (Label Studio ≥ 1.17) or a legacy token. For a Haltung
on a local or private address, Label Studio must run with ML_BLOCK_LOCAL_IP=false
SSRF_PROTECTION_ENABLED=false USE_DEFAULT_BANNED_SUBNETS=false.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CONFIG = Path(__file__).with_name("label_config.xml")
TASKS = [
    {"text": "Russland ist kein verlässlicher Partner.", "target": "Russland"},
    {"text": "Der Euro legte deutlich zu."},
    {"text": "Die Bundesregierung lobt die Einigung mit Moskau.", "target": "Russland"},
]


def label_studio_client(url: str, token: str) -> httpx.Client:
    """A client with a personal access token's access token, or the legacy `Token` header."""
    refreshed = httpx.post(f"{url}/api/token/refresh/", json={"refresh": token}, timeout=30)
    auth = f"Bearer {refreshed.json()['access']}" if refreshed.status_code == 200 else f"Token {token}"
    return httpx.Client(base_url=url, headers={"Authorization": auth}, timeout=120)


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        sys.exit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


def check(ls: httpx.Client, haltung: str, key: str) -> None:
    version = ok(httpx.get(f"{haltung}/v1/model", timeout=30))["version"]
    project = ok(ls.post("/api/projects", json={"title": "Haltung check", "label_config": CONFIG.read_text()}))
    pid = project["id"]
    try:
        ok(ls.post(f"/api/projects/{pid}/import", json=TASKS))
        backend = {
            "url": f"{haltung}/labelstudio",
            "project": pid,
            "title": "Haltung",
            "auth_method": "BASIC_AUTH",
            "basic_auth_user": "labelstudio",
            "basic_auth_pass": key,
        }
        model = ok(ls.post("/api/ml", json=backend))
        assert model["readable_state"] == "Connected" and model["model_version"] == version, model
        print(f"connected: model version {model['model_version']}")

        hooks = [h for h in ok(ls.get("/api/webhooks", params={"project": pid})) if h["url"].endswith("/webhook")]
        assert hooks, "Label Studio created no webhook for the model"
        ok(ls.patch(f"/api/webhooks/{hooks[0]['id']}", json={"headers": {"Authorization": f"Bearer {key}"}}))

        action = {"selectedItems": {"all": True, "excluded": []}}
        ok(ls.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": pid}, json=action))
        predictions = ok(ls.get("/api/predictions", params={"project": pid}))
        assert len(predictions) == len(TASKS) and all(p["model_version"] == version for p in predictions)
        for p in predictions:
            choices = {r["from_name"]: r["value"]["choices"][0] for r in p["result"]}
            print(f"prediction for task {p['task']}: {choices}, score {p['score']}")

        tasks = ok(ls.get("/api/tasks", params={"project": pid}))["tasks"]
        first = next(t for t in tasks if t["data"]["text"] == TASKS[0]["text"])
        result = [
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["negative"]}},
            {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": ["against"]}},
        ]
        ok(ls.post(f"/api/tasks/{first['id']}/annotations", json={"result": result, "lead_time": 1.0}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            labels = ok(httpx.get(f"{haltung}/v1/labels", params={"limit": 1000}, timeout=30))["items"]
            stored = [lab for lab in labels if lab["text"] == TASKS[0]["text"] and lab["target"] == "Russland"]
            if stored and stored[0]["stance"] == "against" and stored[0]["sentiment"] == "negative":
                print(f"annotation stored as label {stored[0]['id']}")
                return
            time.sleep(0.5)
        sys.exit("the annotation did not reach Haltung's label store within 30 s (is the webhook header set?)")
    finally:
        ls.delete(f"/api/projects/{pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--label-studio", required=True, help="Label Studio's URL")
    parser.add_argument("--token", required=True, help="a Label Studio access token (personal or legacy)")
    parser.add_argument("--haltung", required=True, help="Haltung's URL, as Label Studio reaches it")
    parser.add_argument("--key", required=True, help="a key from HALTUNG_API_KEYS")
    args = parser.parse_args()
    check(label_studio_client(args.label_studio.rstrip("/"), args.token), args.haltung.rstrip("/"), args.key)
    print("OK")


if __name__ == "__main__":
    main()
