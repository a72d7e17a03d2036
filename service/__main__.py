"""`python -m service`: serve with uvicorn using the HALTUNG_* settings."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import uvicorn

from service.settings import Settings


def banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}"
    article = Path(__file__).resolve().parents[1] / "examples" / "kim_putin_waffendeal.txt"
    payload = (
        'python3 -c \'import json,sys; print(json.dumps({"text": open(sys.argv[1]).read(), '
        '"targets": ["Russland"]}))\' ' + shlex.quote(str(article))
    )
    # Only URLs that answer: the API has no page at "/", so the banner names the ones a newcomer can open.
    return (
        f"Haltung is serving on {settings.host}:{settings.port}\n"
        f"  API docs:  {url}/docs\n"
        f"  readiness: {url}/v1/health/ready\n"
        f"  the model: {url}/v1/model\n"
        f"Try the reference article:\n"
        f"  {payload} \\\n"
        f"    | curl -s {url}/v1/classify -H 'Content-Type: application/json' --data-binary @-\n"
    )


def main() -> None:
    settings = Settings()
    print(banner(settings), file=sys.stderr, flush=True)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
