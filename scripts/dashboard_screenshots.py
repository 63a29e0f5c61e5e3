"""Take the README's dashboard screenshots (docs/overview.png, docs/partner.png, docs/region.png) from a running app.

Start the app with the demo data first (`make run`), then, with the development requirements installed:

    .venv/bin/python scripts/dashboard_screenshots.py --base http://127.0.0.1:8000 --partner NER

Uses Playwright for Python with the system's Chromium (never a downloaded browser), headless.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="analyst")
    parser.add_argument("--password", default="analyst-demo-2026")
    parser.add_argument("--partner", default="NER", help="ISO alpha-3 code of the partner page to show")
    parser.add_argument("--region", default="western-africa", help="slug of the region page to show")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = [
        ("overview.png", "/assessments/", 1480),
        ("partner.png", f"/assessments/partners/{args.partner}/", 1380),
        ("region.png", f"/assessments/regions/{args.region}/", 1100),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_context(viewport={"width": args.width, "height": 900}).new_page()
        page.goto(args.base + "/accounts/login/")
        page.get_by_label("Username").fill(args.user)
        page.get_by_label("Password").fill(args.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        for name, path, height in shots:
            page.goto(args.base + path)
            page.wait_for_load_state("networkidle")
            clip = {"x": 0, "y": 0, "width": args.width, "height": height}
            page.screenshot(path=str(out / name), clip=clip, full_page=True)
            print(out / name)
        browser.close()


if __name__ == "__main__":
    main()
