"""The web app in Debian's headless Chromium, driven by Playwright on a phone-sized and a
desktop-sized window. Screenshots go to var/screenshots/ for people to look at.

Never downloads a browser: it uses /usr/bin/chromium (apt-get install chromium
chromium-driver; `make system-deps`) and skips, saying so, when that is absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import HOLDER, RIGHTS_TOKEN, WebRunning

CHROMIUM = os.environ.get("LINER_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WINDOWS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
TIMEOUT_MS = 15_000

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() or shutil.which("chromium")),
    reason=f"no system Chromium at {CHROMIUM}: apt-get install chromium chromium-driver "
    "(make system-deps); these tests never download a browser",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(params=list(WINDOWS), ids=list(WINDOWS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=WINDOWS[request.param])
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    opened.window_name = request.param
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{page.window_name}.png"), full_page=True)


def titles(page: Any) -> list[str]:
    page.wait_for_selector("#slate[aria-busy=false]")
    return [t.strip() for t in page.locator("#slate .item .title").all_inner_texts()]


def test_listener_view_labels_switches_and_query(page: Any, web: WebRunning) -> None:
    page.goto(f"{web.url}/?listener=u1#/listen")
    page.wait_for_selector("#slate .item")
    first = titles(page)
    assert page.locator("#slate .badge.ai-GENERATED").count() > 0
    assert page.locator("#slate .badge.ai-NONE").count() > 0
    assert page.get_by_text("detected 90 %").first.is_visible()
    shot(page, "listen")

    page.get_by_label("No AI-generated tracks").check()
    page.wait_for_selector("#slate .item[data-ai=GENERATED]", state="detached")
    assert page.locator("#slate .item").count() > 0
    assert web.recommender.calls[-1].filters.exclude_ai_generated
    shot(page, "listen-no-ai")
    page.get_by_label("No AI-generated tracks").uncheck()
    page.wait_for_selector("#slate .item[data-ai=GENERATED]")

    # By keyboard alone: focus the switch and press Space.
    page.get_by_label("Human artists only").focus()
    page.keyboard.press("Space")
    page.wait_for_selector("#slate .item[data-ai=GENERATED]", state="detached")
    assert "AI persona" not in page.locator("#slate").inner_text()
    assert web.recommender.calls[-1].filters.human_only
    page.keyboard.press("Space")
    page.wait_for_selector("#slate .item[data-ai=GENERATED]")

    page.get_by_label("Search").fill("electronic")
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.querySelector('#slate').textContent.includes('Song 0')")
    after = titles(page)
    assert after != first and all("Synth" in t for t in after)
    assert web.recommender.calls[-1].query == "electronic"
    shot(page, "listen-query")


def test_a_revocation_in_the_rights_view_changes_the_next_slate(page: Any, web: WebRunning) -> None:
    page.goto(f"{web.url}/?listener=u1#/listen")
    page.wait_for_selector("#slate .item[data-ai=GENERATED]")

    page.get_by_role("link", name="Rights holders").click()
    page.get_by_role("textbox", name="Rights holder").fill(HOLDER)
    page.get_by_label("Rights token", exact=True).fill(RIGHTS_TOKEN)
    page.get_by_role("button", name="Open").click()
    page.wait_for_selector("#ledger tbody tr")
    assert "Granted" in page.locator("#ledger tbody").inner_text()
    page.get_by_label("Scope").select_option(label="AI style reference")
    page.get_by_label("Reason").fill("no more imitations")
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_selector("#ledger tbody td.revoke")
    assert "no more imitations" in page.locator("#ledger").inner_text()
    assert page.locator("#metering dd").count() >= 5
    shot(page, "rights")

    page.get_by_role("link", name="Listen").click()
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#slate .item[data-ai=GENERATED]", state="detached")
    assert page.locator("#slate .item[data-ai=NONE]").count() > 0
    shot(page, "listen-after-revocation")


def test_quarantine_evidence_and_conversation_trace(page: Any, web: WebRunning) -> None:
    page.goto(f"{web.url}/?holder=rh-bot#/rights")
    page.get_by_label("Rights token", exact=True).fill(RIGHTS_TOKEN)
    page.get_by_label("Rights token", exact=True).press("Enter")
    page.wait_for_selector("#quarantine dt")
    assert "another uploader" in page.locator("#quarantine").inner_text()

    page.goto(f"{web.url}/?listener=u1#/talk")
    page.get_by_label("What would you like to hear?").fill("calm jazz for reading")
    page.keyboard.press("Enter")
    page.wait_for_selector("#talk-slate .item")
    assert "calm jazz for reading" in page.locator("#talk-summary").inner_text()
    page.locator("#talk-trace-box summary").click()
    assert "search_tracks" in page.locator("#talk-trace").inner_text()
    shot(page, "talk")


def test_service_errors_are_shown_as_messages(page: Any, web: WebRunning) -> None:
    page.goto(f"{web.url}/?listener=u1#/listen")
    page.wait_for_selector("#slate .item")
    page.get_by_label("Listener").fill("")
    page.get_by_role("button", name="Show").click()
    alert = page.get_by_role("alert").first
    alert.wait_for()
    assert "InvalidArgument" in alert.inner_text() and "listener_id" in alert.inner_text()

    page.get_by_role("link", name="Rights holders").click()
    page.get_by_role("textbox", name="Rights holder").fill(HOLDER)
    page.get_by_role("button", name="Open").click()
    rights_alert = page.locator("#rights-error")
    rights_alert.wait_for()
    assert "Unauthenticated" in rights_alert.inner_text()
    assert "enter a rights token" in rights_alert.inner_text()
    shot(page, "errors")
