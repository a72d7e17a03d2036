"""Memory of the serving processes: one uvicorn worker, and N workers.

    .venv/bin/python bench/memory.py [--workers 1,2,4]

For each worker count a real server (``python -m service``, the starter-corpus model of bench/out/perf-models)
is started on 127.0.0.1, warmed up with 50 one-sentence requests and 5 reference-article requests per worker,
then every process of its process group is read from /proc: RSS (resident pages, shared ones counted in every
process) and PSS (shared pages divided among the processes that share them: the sum is what the group really
occupies). Results replace the "## Performance: memory" section of bench/RESULTS.md; raw figures in
bench/out/memory.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ARTICLE, OUT, RESULTS, ensure_model, haltung_server, machine_description, run_command, write_section


def group_memory(pgid: int) -> list[dict[str, Any]]:
    procs = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            _, tail = stat.read_text().rsplit(")", 1)
            if int(tail.split()[2]) != pgid:
                continue
            rollup = (stat.parent / "smaps_rollup").read_text()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
        except (OSError, ValueError):
            continue
        kb = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:] if line.split()[-1] == "kB"}
        procs.append({"pid": int(stat.parent.name), "cmd": cmd, "rss_mb": kb["Rss"] / 1024, "pss_mb": kb["Pss"] / 1024})
    return procs


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        r.read()


def measure(workers: Sequence[int]) -> list[dict[str, Any]]:
    models_dir = ensure_model().parent
    tmp = Path(tempfile.mkdtemp(prefix="memory-", dir=OUT))
    article = ARTICLE.read_text(encoding="utf-8")
    rows = []
    for n in workers:
        ctx, base, _ = haltung_server(n, models_dir, tmp)
        with ctx as pgid:
            for i in range(50 * n):
                post(f"{base}/v1/classify", {"sentences": [f"Die Regierung hat die Warnungen {i} Mal ignoriert."]})
            for _ in range(5 * n):
                post(f"{base}/v1/classify", {"text": article, "targets": ["Russland", "Nordkorea"]})
            procs = group_memory(pgid)
        rows.append(
            {
                "workers": n,
                "processes": procs,
                "rss_mb": sum(p["rss_mb"] for p in procs),
                "pss_mb": sum(p["pss_mb"] for p in procs),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def report(data: dict[str, Any], command: str, machine: str) -> str:
    lines = [
        f"Command: `{command}` ({data['date']}).",
        "",
        f"Machine: {machine}.",
        "",
        "After warm-up (50 one-sentence + 5 reference-article requests per worker); model: starter corpus "
        f"({data['bundle_kb']:,} kB bundle). RSS counts shared pages in every process, PSS shares them out.",
        "",
        "| uvicorn workers | processes | largest process RSS MB | sum RSS MB | sum PSS MB |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in data["rows"]:
        largest = max(p["rss_mb"] for p in r["processes"])
        lines.append(
            f"| {r['workers']} | {len(r['processes'])} | {largest:,.0f} | {r['rss_mb']:,.0f} | {r['pss_mb']:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    machine = machine_description()
    bundle = ensure_model()
    data = {
        "date": datetime.now().isoformat(timespec="minutes"),
        "bundle_kb": sum(f.stat().st_size for f in bundle.iterdir()) // 1024,
        "rows": measure([int(x) for x in args.workers.split(",")]),
    }
    (OUT / "memory.json").write_text(json.dumps(data, indent=2) + "\n")
    text = report(data, run_command(), machine)
    print(text)
    write_section("Performance: memory", text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
