"""Page load of the workbench's Read page, measured in Debian's chromium (Playwright), against a running service.

    .venv/bin/python bench/workbench_load.py --base-url http://127.0.0.1:8000 [--runs 3]

Per article (the reference article; the longest of ../shared/data/news_articles): open `/`, paste it with
a target, press Read, and wait until every sentence is rendered. Reported per run: `total_s` (click until
rendered, as the analyst waits: the /v1/classify request included) and `render_ms` (the page's own layout
of the sentences, measured by the page). The machine's load changes these figures: say what else ran.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "data" / "news_articles" / "10kgnad.jsonl"


def articles() -> dict[str, tuple[str, str]]:
    reference = (ROOT / "examples" / "kim_putin_waffendeal.txt").read_text(encoding="utf-8")
    out = {"reference": (reference, "Russland: Moskau, Kreml")}
    if NEWS.exists():
        rows = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
        out["longest_news_article"] = (max(rows, key=lambda r: len(r["text"]))["text"], "Österreich")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    report = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, (text, targets) in articles().items():
            runs = []
            for _ in range(args.runs):
                page.goto(f"{args.base_url}/")
                page.fill("#text", text)
                page.fill("#targets", targets)
                started = time.perf_counter()
                page.click("#read-button")
                page.wait_for_selector("body[data-rendered]", timeout=120_000)
                total = time.perf_counter() - started
                render_ms = int(page.evaluate("document.body.dataset.renderMs"))
                runs.append({"total_s": round(total, 3), "render_ms": render_ms})
            sentences = page.locator("#article .s").count()
            report[name] = {
                "chars": len(text),
                "sentences": sentences,
                "median_total_s": statistics.median(r["total_s"] for r in runs),
                "median_render_ms": statistics.median(r["render_ms"] for r in runs),
                "runs": runs,
            }
        browser.close()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
