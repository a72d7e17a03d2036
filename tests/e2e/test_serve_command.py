"""`python -m service` prints where it serves and a curl command for the reference article, and that works."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, service_env, start_process, wait_until_ready

pytestmark = pytest.mark.slow


def test_python_m_service_prints_the_url_and_a_working_curl_command(tiny_models_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    env = service_env(
        HALTUNG_PORT=str(port), HALTUNG_MODELS_DIR=str(tiny_models_dir), HALTUNG_DATA_DIR=str(tmp_path / "data")
    )
    server = start_process([sys.executable, "-m", "service"], env, port)
    try:
        lines = server.wait_for_stderr(lambda lines: any("curl" in line for line in lines), timeout=30)
        banner = "\n".join(lines[: next(i for i, line in enumerate(lines) if "curl" in line) + 1])
        url = f"http://127.0.0.1:{port}"
        assert f"{url}/docs" in banner
        assert f"curl -s {url}/v1/classify" in banner
        assert "Content-Type: application/json" in banner
        assert "kim_putin_waffendeal.txt" in banner

        # Every URL it prints to open answers 200 (none is the API's 404 at "/"), and the command it
        # printed classifies the reference article.
        wait_until_ready(server)
        pages = [u for u in re.findall(r"http://\S+", banner) if not u.endswith("/v1/classify")]
        assert set(pages) == {f"{url}/docs", f"{url}/v1/health/ready", f"{url}/v1/model"}, banner
        for page in pages:
            assert httpx.get(page, timeout=10).status_code == 200, page
        command = banner.split("Try the reference article:\n", 1)[1]
        if not (shutil.which("curl") and shutil.which("python3") and shutil.which("bash")):
            pytest.skip("curl, python3 or bash not on PATH: the printed command cannot be run here")
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["model_version"]
        sentences = answer["documents"][0]["sentences"]
        assert sentences and all(s["stance"][0]["target"] == "Russland" for s in sentences)
    finally:
        server.stop()
