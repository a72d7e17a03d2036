"""HTTP throughput and latency: the Haltung service (uvicorn) side by side with Seldon MLServer, same model.

    apt-get install -y wrk
    python3 -m venv /tmp/perf/mlserver-venv && /tmp/perf/mlserver-venv/bin/pip install mlserver mlserver-sklearn \
        scikit-learn==1.9.1 numpy==2.4.6 scipy==1.17.1 joblib==1.6.0 threadpoolctl==3.8.0 gersent==0.0.6 SoMaJo==2.5.0 \
        snowballstemmer==3.1.1 "uvloop<0.22"   # MLServer 1.7.1 workers fail with uvloop 0.22+ ("no current event loop")
    .venv/bin/pip install --target /tmp/perf/uvfast httptools uvloop   # optional: uvicorn's fast HTTP parser/loop
    .venv/bin/python bench/perf_http.py --mlserver-python /tmp/perf/mlserver-venv/bin/python \
        --uvicorn-extras /tmp/perf/uvfast
    .venv/bin/python bench/perf_http.py --retrain --workers 1      # p99 idle vs during POST /v1/retrain

Servers (each started on 127.0.0.1, measured, stopped; one at a time):
* Haltung: ``python -m service`` (uvicorn) with 1 and with 2 worker processes, the model trained on the starter
  corpus by ``python -m training train --data starter --dev-fraction 0.2`` (bench/out/perf-models);
* MLServer (its own venv, V2 inference protocol) serving the same bundle through the custom runtime
  bench/mlserver/runtime.py (``HaltungModel`` inside; see its docstring for why not mlserver-sklearn), once with
  the fast classes and once with scikit-learn's own classes.
Load: wrk (a separate process, one thread, keep-alive connections = concurrency) with a Lua script that
rotates over the request bodies: 500 different one-sentence requests (sentences of the 10kGNAD articles), and
the reference article examples/kim_putin_waffendeal.txt (split by each server with the project's Segmenter).
Haltung gets ``{"sentences": [s]}`` / ``{"text": article}``, MLServer the same strings as a BYTES tensor named
``sentences`` / ``text``; both score both heads (stance without a target). wrk shares the 2 cores with the
server, as a client on the same machine must. Results replace the "## Performance: HTTP" section of
bench/RESULTS.md; raw figures in bench/out/perf_http.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ARTICLE,
    OUT,
    PY,
    RESULTS,
    ROOT,
    ensure_model,
    free_port,
    group_cpu_seconds,
    haltung_server,
    machine_description,
    read_articles,
    run_command,
    server,
    write_section,
)

LUA = r"""
-- POST bodies, one per line of BODIES_FILE, used in turn
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for line in io.lines(os.getenv("BODIES_FILE")) do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def mlserver_server(python: Path, bundle: Path, classes: str, tmp: Path) -> tuple[Any, str, dict[str, str]]:
    port = free_port()
    repo = tmp / f"mlserver-{classes}"
    repo.mkdir(parents=True, exist_ok=True)
    settings = {"http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "debug": False}
    (repo / "settings.json").write_text(json.dumps(settings))
    model = {
        "name": "haltung",
        "implementation": "runtime.HaltungRuntime",
        "parameters": {"uri": str(bundle), "extra": {"classes": classes}},
    }
    (repo / "model-settings.json").write_text(json.dumps(model))
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'bench' / 'mlserver'}"}
    mlserver = python.parent / "mlserver"
    base = f"http://127.0.0.1:{port}"
    ctx = server(
        [str(mlserver), "start", str(repo)],
        env,
        repo,
        f"{base}/v2/models/haltung/ready",
        OUT / f"http-mlserver-{classes}.log",
    )
    url = f"{base}/v2/models/haltung/infer"
    return ctx, base, {"one": url, "article": url}


def bodies(tmp: Path, n_sentences: int) -> dict[tuple[str, str], Path]:
    """Request bodies per (server kind, input)."""
    from training.segmentation import Segmenter

    articles = read_articles(60)
    sentences = [s.text for doc in Segmenter().split_many(articles) for s in doc][:n_sentences]
    article = ARTICLE.read_text(encoding="utf-8")

    def v2(name: str, texts: list[str]) -> str:
        return json.dumps({"inputs": [{"name": name, "shape": [len(texts)], "datatype": "BYTES", "data": texts}]})

    files = {
        ("haltung", "one"): [json.dumps({"sentences": [s]}) for s in sentences],
        ("haltung", "article"): [json.dumps({"text": article})],
        ("haltung", "article+targets"): [json.dumps({"text": article, "targets": ["Russland", "Nordkorea"]})],
        ("mlserver", "one"): [v2("sentences", [s]) for s in sentences],
        ("mlserver", "article"): [v2("text", [article])],
    }
    out = {}
    for (kind, name), lines in files.items():
        path = tmp / f"bodies-{kind}-{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out[(kind, name)] = path
    return out


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(
    url: str, body_file: Path, script: Path, connections: int, duration: int, pgid: int | None = None
) -> dict[str, Any]:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    cpu0 = group_cpu_seconds(pgid) if pgid else 0.0
    run = subprocess.run(
        command,
        env={**os.environ, "BODIES_FILE": str(body_file)},
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    cpu = group_cpu_seconds(pgid) - cpu0 if pgid else float("nan")
    text = run.stdout
    pct = dict(re.findall(r"^\s*(\d+)%\s+(\S+)\s*$", text, re.MULTILINE))
    if run.returncode != 0 or "requests in" not in text:
        raise RuntimeError(f"wrk failed: {run.stderr or text}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {
        "connections": connections,
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]) if "50" in pct else float("nan"),
        "p99_ms": _ms(pct["99"]) if "99" in pct else float("nan"),
        "errors": errors,
        "server_cpu_ms_per_request": 1000 * cpu / requests if requests else float("nan"),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    bundle = ensure_model()
    models_dir = bundle.parent
    tmp = Path(tempfile.mkdtemp(prefix="perf-http-", dir=OUT))
    script = tmp / "bodies.lua"
    script.write_text(LUA)
    files = bodies(tmp, args.sentences)
    configs: list[tuple[str, str, Any]] = [
        (
            f"Haltung, uvicorn {w} worker{'s' if w > 1 else ''}",
            "haltung",
            lambda w=w: haltung_server(w, models_dir, tmp),
        )
        for w in args.workers
    ]
    if args.uvicorn_extras:
        configs += [
            (
                f"Haltung, uvicorn {w} worker{'s' if w > 1 else ''}, httptools+uvloop",
                "haltung",
                lambda w=w: haltung_server(w, models_dir, tmp, args.uvicorn_extras),
            )
            for w in args.workers
        ]
    if args.mlserver_python:
        configs += [
            (f"MLServer, {c} classes", "mlserver", lambda c=c: mlserver_server(args.mlserver_python, bundle, c, tmp))
            for c in ("fast", "sklearn")
        ]
    results: dict[str, Any] = {}
    for label, kind, start in configs:
        ctx, _, urls = start()
        rows = []
        with ctx as pgid:
            inputs = ["one", "article"] + (["article+targets"] if kind == "haltung" else [])
            for name in inputs:
                url = urls["one" if name == "one" else "article"]
                wrk(url, files[(kind, name)], script, 4, 2)  # warm-up (caches, connections)
                for c in args.concurrency:
                    r = wrk(url, files[(kind, name)], script, c, args.duration, pgid)
                    r["input"] = name
                    rows.append(r)
                    print(
                        f"{label:32} {name:16} c={c:<3} {r['rps']:8.1f} req/s p50 {r['p50_ms']:7.2f} ms "
                        f"p99 {r['p99_ms']:7.2f} ms errors {r['errors']} "
                        f"cpu/req {r['server_cpu_ms_per_request']:.2f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
        results[label] = rows
    return results


def _call(url: str, payload: Any = None, key: str | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read() or b"null")


def during_retrain(args: argparse.Namespace) -> dict[str, Any]:
    """p99 of one-sentence /v1/classify idle, then while POST /v1/retrain's training process runs."""
    import shutil

    from training.data import read_examples

    bundle = ensure_model()
    tmp = Path(tempfile.mkdtemp(prefix="perf-retrain-", dir=OUT))
    models_dir = tmp / "models"
    shutil.copytree(bundle.parent, models_dir)  # promotion must not touch bench/out/perf-models
    script = tmp / "bodies.lua"
    script.write_text(LUA)
    files = bodies(tmp, args.sentences)
    key = "bench-key"
    port = free_port()
    env = {
        "HALTUNG_MODELS_DIR": str(models_dir),
        "HALTUNG_DATA_DIR": str(tmp / "data"),
        "HALTUNG_PORT": str(port),
        "HALTUNG_WORKERS": str(args.workers[0]),
        "HALTUNG_API_KEYS": key,
    }
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/classify"
    out: dict[str, Any] = {"workers": args.workers[0], "concurrency": 8, "idle": [], "retrain": []}
    with server([str(PY), "-m", "service"], env, ROOT, f"{base}/v1/health/ready", OUT / "http-retrain.log") as pgid:
        wrk(url, files[("haltung", "one")], script, 4, 2)
        for _ in range(args.windows):
            out["idle"].append(wrk(url, files[("haltung", "one")], script, 8, args.duration, pgid))
        labels = [
            {"text": e.text, "sentiment": e.sentiment, "target": e.target, "stance": e.stance}
            for e in read_examples(["starter"])[:40]
        ]
        _call(f"{base}/v1/labels", {"labels": labels}, key)
        job = _call(f"{base}/v1/retrain", {"force": True}, key)
        started = time.monotonic()
        while _call(f"{base}/v1/jobs/{job['job_id']}")["status"] == "queued" and time.monotonic() - started < 60:
            time.sleep(0.2)
        while _call(f"{base}/v1/jobs/{job['job_id']}")["status"] == "running" and len(out["retrain"]) < 30:
            out["retrain"].append(wrk(url, files[("haltung", "one")], script, 8, args.duration, pgid))
        final = _call(f"{base}/v1/jobs/{job['job_id']}")
        while final["status"] in ("queued", "running"):
            time.sleep(1)
            final = _call(f"{base}/v1/jobs/{job['job_id']}")
        out["job"] = {k: final.get(k) for k in ("status", "duration_s", "promoted", "error")}
        # the last window may have outlived the training process; it stays in: it started during it
    return out


def retrain_report(data: dict[str, Any], command: str, machine: str, duration: int) -> str:
    r = data["retrain"]
    idle = max(x["p99_ms"] for x in r["idle"])
    during = [x["p99_ms"] for x in r["retrain"]]
    lines = [
        f"Command: `{command}` ({data['date']}).",
        "",
        f"Machine: {machine}.",
        "",
        f"POST /v1/retrain (the service's own retrain: 40 posted labels + the current model's base data, trained "
        f"in a separate, niced process; force=true) on a server with {r['workers']} uvicorn worker(s); load: wrk "
        f"one-sentence requests at concurrency {r['concurrency']}, {duration} s windows, {len(r['idle'])} before "
        f"the retrain and as many as fit while its job is running. Job: {r['job']}.",
        "",
        "| phase | window | req/s | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for phase in ("idle", "retrain"):
        for i, x in enumerate(r[phase], 1):
            lines.append(f"| {phase} | {i} | {x['rps']:,.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {x['errors']} |")
    if during:
        worst = max(during)
        lines += [
            "",
            f"Idle p99 (worst idle window) {idle:.2f} ms; during the retrain: median window p99 "
            f"{sorted(during)[len(during) // 2]:.2f} ms, worst {worst:.2f} ms = **{worst / idle:.1f}×** idle "
            f"(goal ≤ 2×: {'met' if worst <= 2 * idle else 'missed'}).",
        ]
    return "\n".join(lines)


def report(data: dict[str, Any], command: str, machine: str, duration: int) -> str:
    res = data["results"]
    lines = [
        f"Command: `{command}` ({data['date']}).",
        "",
        f"Machine: {machine}.",
        "",
        f"Load: wrk (one thread, keep-alive; concurrency = open connections), {duration} s per row after a 2 s "
        "warm-up, on the same 2 cores as the server. `one` = one-sentence requests (500 different sentences in "
        "turn), `article` = the reference article (examples/kim_putin_waffendeal.txt) split and scored by the "
        "server, `article+targets` adds targets Russland and Nordkorea (Haltung only). Errors = non-2xx + socket "
        "errors. MLServer serves the same bundle through bench/mlserver/runtime.py (V2 protocol), both heads.",
        "",
        "| server | input | concurrency | req/s | p50 ms | p99 ms | errors | server CPU ms/request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, rows in res.items():
        for r in rows:
            lines.append(
                f"| {label} | {r['input']} | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['errors']} | {r['server_cpu_ms_per_request']:.2f} |"
            )
    haltung = {k: v for k, v in res.items() if k.startswith("Haltung")}
    ml = {k: v for k, v in res.items() if k.startswith("MLServer")}
    if haltung and ml:

        def best(rows: list[dict[str, Any]], name: str) -> float:
            return max(r["rps"] for r in rows if r["input"] == name)

        def cpu(rows: list[dict[str, Any]], name: str) -> float:
            return min(r["server_cpu_ms_per_request"] for r in rows if r["input"] == name)

        h_best = max(best(rows, "one") for rows in haltung.values())
        h_cpu = min(cpu(rows, "one") for rows in haltung.values())
        lines += [
            "",
            "Ratios (goal: Haltung ≥ 5× MLServer's one-sentence throughput). Throughput: best req/s over "
            "concurrency 1/8/32 and configurations; CPU: least server CPU-ms per request, which the other jobs on "
            "this shared machine disturb far less than req/s:",
            "",
        ]
        for label, rows in ml.items():
            ratio = h_best / best(rows, "one")
            lines.append(
                f"- one sentence vs {label}: Haltung {h_best:,.0f} vs {best(rows, 'one'):,.0f} req/s "
                f"= **{ratio:.1f}×** "
                f"({'met' if ratio >= 5 else 'missed'}); server CPU per request {h_cpu:.2f} vs {cpu(rows, 'one'):.2f} "
                f"ms = {cpu(rows, 'one') / h_cpu:.1f}×"
            )
            a_ratio = max(best(r, "article") for r in haltung.values()) / best(rows, "article")
            lines.append(f"  - reference article: {a_ratio:.1f}× the throughput")
    p99 = [
        (k, r["p99_ms"])
        for k, rows in haltung.items()
        for r in rows
        if r["input"] == "article" and r["connections"] == 8
    ]
    if p99:
        lines += [
            "",
            "Reference article at concurrency 8, p99 (goal ≤ 15 ms): "
            + "; ".join(f"{k}: {v:.1f} ms ({'met' if v <= 15 else 'missed'})" for k, v in p99)
            + ".",
        ]
    total_errors = sum(r["errors"] for rows in res.values() for r in rows)
    lines += ["", f"Errors over all rows: {total_errors}."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mlserver-python", type=Path, help="python of the venv with mlserver (skipped if absent)")
    parser.add_argument(
        "--uvicorn-extras",
        type=Path,
        help="a directory with httptools and uvloop (pip install --target DIR httptools uvloop): also measure "
        "the service with them (uvicorn picks them up by itself when they are importable)",
    )
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--retrain", action="store_true", help="measure p99 idle and during POST /v1/retrain")
    parser.add_argument("--windows", type=int, default=3, help="idle windows in --retrain mode")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    machine = machine_description()
    if args.retrain:
        data = {"date": datetime.now().isoformat(timespec="minutes"), "retrain": during_retrain(args)}
        (OUT / "perf_retrain.json").write_text(json.dumps(data, indent=2) + "\n")
        text = retrain_report(data, run_command(), machine, args.duration)
        print(text)
        write_section("Performance: latency during a retrain", text, args.out)
        return 0
    data = {"date": datetime.now().isoformat(timespec="minutes"), "results": measure(args)}
    (OUT / "perf_http.json").write_text(json.dumps(data, indent=2) + "\n")
    text = report(data, run_command(), machine, args.duration)
    print(text)
    write_section("Performance: HTTP", text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
