"""`python -m service`: serve with uvicorn using the HALTUNG_* settings."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import uvicorn

from service.settings import Settings


def banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}"
    # Only URLs that answer: the API has no page at "/", so the banner names the ones a newcomer can open.
    lines = [
        f"Haltung is serving on {settings.host}:{settings.port}",
        f"  API docs:  {url}/docs",
        f"  readiness: {url}/v1/health/ready",
        f"  the model: {url}/v1/model",
    ]
    article = Path(__file__).resolve().parents[1] / "examples" / "kim_putin_waffendeal.txt"
    if article.is_file():  # a source checkout (`make run`); an installed package has no examples/
        payload = (
            'python3 -c \'import json,sys; print(json.dumps({"text": open(sys.argv[1]).read(), '
            '"targets": ["Russland"]}))\' ' + shlex.quote(str(article))
        )
        lines += [
            "Try the reference article:",
            f"  {payload} \\",
            f"    | curl -s {url}/v1/classify -H 'Content-Type: application/json' --data-binary @-",
        ]
    return "\n".join(lines) + "\n"


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
        # Request-head deadline (HALTUNG_HEADER_TIMEOUT): uvicorn has none, see service/protocol.py.
        http="service.protocol:HeadTimeoutProtocol",
        timeout_keep_alive=settings.keepalive_timeout,
    )


if __name__ == "__main__":
    main()
