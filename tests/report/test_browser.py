"""Open written reports in a real, offline Chromium and check every figure draws."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyperdial.report import write_report

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALL_DRAWN = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length > 0 && divs.every(
    d => d.querySelector('.main-svg') || d.querySelector('canvas'));
}"""
NOT_DRAWN = """() => [...document.querySelectorAll('.plotly-graph-div')]
  .filter(d => !(d.querySelector('.main-svg') && d._fullLayout) &&
               !d.querySelector('canvas'))
  .map(d => d.id)"""


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test needs playwright and {CHROMIUM} under CI=true")
        pytest.skip(f"playwright or {CHROMIUM} is not installed")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    with _sync_playwright()() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _open(browser, path: Path, screenshot: Path):
    """Load ``path`` with the network cut off; return (figure count, errors, requests out)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else 0
    )

    def only_local(route):
        if route.request.url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(path.resolve().as_uri())
    page.wait_for_function(ALL_DRAWN, timeout=60_000)
    page.wait_for_timeout(300)  # let late console errors arrive
    missing = page.evaluate(NOT_DRAWN)
    count = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
    page.locator("section#history").screenshot(path=str(screenshot))
    page.close()
    return count, missing, errors, outside


@pytest.mark.slow
def test_reports_draw_every_figure_offline(browser, make_single, make_multi, tmp_path):
    single = write_report(make_single(), tmp_path / "single.html")
    several = write_report(make_multi(n_objectives=3), tmp_path / "several.html")
    two = write_report(make_multi(name="two"), tmp_path / "two.html")
    for path, at_least in ((single, 11), (several, 12), (two, 11)):
        shot = tmp_path / f"{path.stem}.png"
        count, missing, errors, outside = _open(browser, path, shot)
        assert count >= at_least, path.name
        assert missing == [], f"{path.name}: figures not drawn: {missing}"
        assert errors == [], f"{path.name}: {errors}"
        assert outside == [], f"{path.name} asked the network for {outside}"
        assert shot.stat().st_size > 30_000  # a drawn figure, not a blank section
