"""The web page in a real browser (Chromium through Playwright) against the real server."""
from __future__ import annotations

import io
import shutil

import pytest
import soundfile as sf

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    page.console_problems = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type in ("error", "warning") and page.console_problems.append(msg.text))
    page.on("pageerror", lambda exc: page.console_problems.append(str(exc)))
    yield page
    context.close()


def test_page_generates_plays_and_describes_a_track(page):
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    options = page.eval_on_selector_all("#style option", "els => els.map(e => e.value)")
    assert options == ["classical", "jazz", "rock", "blues", "electronic", "ambient"]

    page.select_option("#style", "electronic")
    assert page.input_value("#tempo") == "124", "tempo defaults to the chosen style's"
    page.fill("#duration", "3")
    page.fill("#seed", "9")
    page.click("#generate")
    page.wait_for_selector("#result:not([hidden])", timeout=120_000)

    src = page.eval_on_selector("#player", "a => a.src")
    assert "/api/download/electronic_" in src
    downloaded = page.request.get(src)
    assert downloaded.status == 200
    info = sf.info(io.BytesIO(downloaded.body()))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
    assert info.frames / 44100 == pytest.approx(3.0, rel=0.01)
    assert page.get_attribute("#download", "href") == src.removeprefix(page.url.rstrip("/"))

    # The browser itself decodes the file: its duration is the file's.
    duration = page.evaluate("""() => new Promise((resolve, reject) => {
        const a = document.getElementById('player');
        if (a.readyState >= 1) return resolve(a.duration);
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => reject(new Error('audio could not be decoded')));
    })""")
    assert duration == pytest.approx(3.0, rel=0.01)

    assert page.text_content("dd[data-field=style]") == "electronic"
    assert page.text_content("dd[data-field=seed]") == "9"
    assert page.text_content("dd[data-field=tempo]") == "124 BPM"
    assert page.text_content("#status") == "Done."
    assert not page.console_problems


def test_page_shows_the_api_error(page):
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    page.select_option("#style", "jazz")
    page.fill("#duration", "3")
    page.fill("#key", "H major")
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "key" in page.text_content("#error")
    assert page.is_hidden("#result")
    assert page.is_enabled("#generate")
