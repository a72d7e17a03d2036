#!/usr/bin/env python3
"""Checks that scripts/container-test.sh runs against the image and the running container.

Standard library only: it runs on the host, outside the project's virtual environment.

    api_check.py image-config IMAGE_INSPECT_JSON_FILE
    api_check.py ready    BASE_URL
    api_check.py classify BASE_URL TEXT_FILE [EXPECTED_MODEL_VERSION]   (prints model_version)
    api_check.py label    BASE_URL API_KEY TEXT
    api_check.py has-label BASE_URL API_KEY TEXT

Each prints what it checked and exits 1 with a reason on the first failed check.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

SENTIMENTS = {"positive", "negative", "neutral"}
MIN_SENTENCES = 20
EXPECTED_CMD = ["python", "-m", "service"]  # reads HALTUNG_HOST/PORT/WORKERS, like `make run`
EXPECTED_ENV = {
    "HALTUNG_DATA_DIR": "/data",
    "HALTUNG_MODELS_DIR": "/data/models",
    "HALTUNG_SEED_MODELS_DIR": "/opt/haltung/models",
    "HALTUNG_HOST": "0.0.0.0",
}


class CheckFailed(Exception):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def ok(message: str) -> None:
    print(f"    ok: {message}", file=sys.stderr)


def request(method: str, url: str, body: object = None, key: str | None = None, timeout: float = 60) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def short(payload: object) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return text if len(text) < 600 else text[:600] + " ..."


def image_config(inspect_file: str) -> None:
    with open(inspect_file, encoding="utf-8") as f:
        data = json.load(f)
    image = data[0] if isinstance(data, list) else data
    config = image.get("Config") or {}
    user = config.get("User", "")
    check(user and user.split(":")[0] not in ("", "0", "root"), f"image runs as root (User={user!r})")
    ok(f"runs as non-root user {user}")
    check(config.get("Cmd") == EXPECTED_CMD, f"CMD is {config.get('Cmd')}, expected {EXPECTED_CMD}")
    ok("exec-form CMD runs python -m service (the HALTUNG_* settings decide host, port and workers)")
    env = dict(e.split("=", 1) for e in config.get("Env") or [])
    for name, value in EXPECTED_ENV.items():
        check(env.get(name) == value, f"ENV {name}={env.get(name)!r}, expected {value!r}")
    ok("ENV " + " ".join(f"{k}={v}" for k, v in EXPECTED_ENV.items()))
    check("/data" in (config.get("Volumes") or {}), f"no VOLUME /data: {config.get('Volumes')}")
    ok("VOLUME /data")
    check("8000/tcp" in (config.get("ExposedPorts") or {}), f"8000/tcp not exposed: {config.get('ExposedPorts')}")
    ok("EXPOSE 8000")
    health = config.get("Healthcheck") or image.get("Healthcheck") or image.get("HealthCheck") or {}
    test = health.get("Test") or []
    check(test and test[0] in ("CMD", "CMD-SHELL") and "/v1/health/ready" in " ".join(test), f"HEALTHCHECK: {health}")
    ok("HEALTHCHECK probes /v1/health/ready")


def ready(base: str) -> None:
    status, payload = request("GET", f"{base}/v1/health/ready", timeout=10)
    check(status == 200, f"GET /v1/health/ready -> {status}: {short(payload)}")
    ok(f"GET /v1/health/ready -> 200 {short(payload)}")


def classify(base: str, text_file: str, expected_version: str | None = None) -> None:
    with open(text_file, encoding="utf-8") as f:
        text = f.read()
    status, payload = request("POST", f"{base}/v1/classify", {"text": text})
    check(status == 200, f"POST /v1/classify -> {status}: {short(payload)}")
    check(isinstance(payload, dict), f"classify answer is not a JSON object: {short(payload)}")
    version = payload.get("model_version")
    check(isinstance(version, str) and version, f"no model_version in {short(payload)}")
    if expected_version:
        check(version == expected_version, f"model_version {version!r}, expected {expected_version!r} (the seeded one)")
    documents = payload.get("documents")
    check(isinstance(documents, list) and documents, f"no documents in {short(payload)}")
    sentences = documents[0].get("sentences")
    check(isinstance(sentences, list), f"documents[0] has no sentences list: {short(documents[0])}")
    check(len(sentences) >= MIN_SENTENCES, f"only {len(sentences)} sentences, expected >= {MIN_SENTENCES}")
    labels: dict[str, int] = {}
    for i, sentence in enumerate(sentences):
        label = (sentence.get("sentiment") or {}).get("label")
        check(label in SENTIMENTS, f"sentence {i} has sentiment label {label!r}: {short(sentence)}")
        check(isinstance(sentence.get("stance"), list), f"sentence {i} has no stance list: {short(sentence)}")
        labels[label] = labels.get(label, 0) + 1
    stances = sum(len(s["stance"]) for s in sentences)
    ok(
        f"POST /v1/classify -> 200, model {version}, {len(sentences)} sentences, sentiment {labels}, "
        f"{stances} stance entries"
    )
    print(version)


def label(base: str, key: str, text: str) -> None:
    body = {"labels": [{"text": text, "sentiment": "positive"}]}
    status, payload = request("POST", f"{base}/v1/labels", body)
    check(status in (401, 403), f"POST /v1/labels without a key -> {status}, expected 401/403: {short(payload)}")
    ok(f"POST /v1/labels without a key -> {status}")
    status, payload = request("POST", f"{base}/v1/labels", body, key="wrong-key")
    check(status in (401, 403), f"POST /v1/labels with a wrong key -> {status}, expected 401/403: {short(payload)}")
    ok(f"POST /v1/labels with a wrong key -> {status}")
    status, payload = request("POST", f"{base}/v1/labels", body, key=key)
    check(status in (200, 201), f"POST /v1/labels -> {status}: {short(payload)}")
    ok(f"POST /v1/labels with the key -> {status} {short(payload)}")


def has_label(base: str, key: str, text: str) -> None:
    status, payload = request("GET", f"{base}/v1/labels", key=key)
    check(status == 200, f"GET /v1/labels -> {status}: {short(payload)}")
    items = payload.get("items") if isinstance(payload, dict) else None
    check(isinstance(items, list), f"GET /v1/labels has no items list: {short(payload)}")
    found = [item for item in items if isinstance(item, dict) and item.get("text") == text]
    check(found, f"label {text!r} not among {len(items)} stored items: {short(items)}")
    check(found[0].get("sentiment") == "positive", f"stored label lost its sentiment: {short(found[0])}")
    ok(f"GET /v1/labels -> 200, {len(items)} item(s), the posted label is stored: {short(found[0])}")


def main(argv: list[str]) -> int:
    commands = {
        "image-config": (image_config, 1),
        "ready": (ready, 1),
        "classify": (classify, 2),
        "label": (label, 3),
        "has-label": (has_label, 3),
    }
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    func, nargs = commands[argv[0]]
    args = argv[1:]
    if not nargs <= len(args) <= nargs + (argv[0] == "classify"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        func(*args)
    except CheckFailed as err:
        print(f"    CHECK FAILED: {err}", file=sys.stderr)
        return 1
    except (OSError, urllib.error.URLError) as err:
        print(f"    CHECK FAILED: {argv[0]}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
