"""The web page in a real browser (Chromium through Playwright) against the real server.

The page's library shows 20 tracks a page; ``/?page_size=N`` in the page's address changes that,
which the paging test uses to make a short library span several pages.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import soundfile as sf
from playwright import sync_api

from .conftest import PROJECT_ROOT, LiveServer, free_port, server_env, stop_process, wait_until_healthy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
ENTRY = str(PROJECT_ROOT / "ai_music_system.py")
GENERATE_TIMEOUT_MS = 120_000

pytestmark = pytest.mark.slow

# The media element's own reading of the file: its duration once the browser has parsed it.
DECODED_DURATION = """a => new Promise((resolve, reject) => {
    if (a.readyState >= 1 && a.currentSrc) return resolve(a.duration);
    a.addEventListener('loadedmetadata', () => resolve(a.duration), {once: true});
    a.addEventListener('error', () => reject(new Error('audio could not be decoded')), {once: true});
})"""


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is required for the browser tests and was not found at {CHROMIUM} "
                    "(apt-get install -y chromium)", pytrace=False)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_context(browser, base_url: str) -> Iterator[sync_api.Page]:
    """A fresh browser profile (empty localStorage) with one page that records console problems."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.console_problems = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type in ("error", "warning") and page.console_problems.append(msg.text))
    page.on("pageerror", lambda exc: page.console_problems.append(str(exc)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, server):
    with open_context(browser, server.base_url) as page:
        yield page


@contextmanager
def own_server(base: Path, **env: str) -> Iterator[LiveServer]:
    """A gunicorn of the project's own config with these settings, on a free port."""
    port = free_port()
    output_dir, log_path = base / "output", base / "server.log"
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "ai_music_system:app"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=server_env(output_dir, port, WARM_UP="0", **env),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(proc, "127.0.0.1", port, log_path)
        yield LiveServer("127.0.0.1", port, output_dir, log_path)
    finally:
        stop_process(proc)


# -- what the page shows --------------------------------------------------------------------------

def open_page(page: sync_api.Page, path: str = "/") -> None:
    """Load the page and wait until the form and the first page of the library are there."""
    page.goto(path)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#library[aria-busy=false]")


def generate(page: sync_api.Page, style: str, duration: float, seed: int) -> dict[str, Any]:
    """Fill the form, press Generate, wait for "Done." and return the track the API made."""
    page.select_option("#style", style)
    page.fill("#duration", str(duration))
    page.fill("#seed", str(seed))
    with page.expect_response(lambda r: r.url.endswith("/api/generate"), timeout=GENERATE_TIMEOUT_MS) as answer:
        page.click("#generate")
    assert answer.value.status == 201, answer.value.text()
    track = answer.value.json()
    page.wait_for_selector(f"#tracks > li[data-id='{track['id']}']")
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")
    return track


def row_ids(page: sync_api.Page) -> list[str]:
    return page.eval_on_selector_all("#tracks > li", "rows => rows.map(r => r.dataset.id)")


def row(page: sync_api.Page, track_id: str) -> sync_api.Locator:
    return page.locator(f"#tracks > li[data-id='{track_id}']")


def row_fields(page: sync_api.Page, track_id: str) -> dict[str, str]:
    return row(page, track_id).locator("dd[data-field]").evaluate_all(
        "dds => Object.fromEntries(dds.map(d => [d.dataset.field, d.textContent]))")


def api_ids(server: LiveServer, key: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer = server.get("/api/tracks?limit=100", headers=headers)
    assert answer.status == 200, answer.body
    return [t["id"] for t in answer.json()["tracks"]]


# -- the form and the result ----------------------------------------------------------------------

def test_page_generates_plays_and_describes_a_track(page):
    open_page(page)
    options = page.eval_on_selector_all("#style option", "els => els.map(e => e.value)")
    assert options == ["classical", "jazz", "rock", "blues", "electronic", "ambient"]

    page.select_option("#style", "electronic")
    assert page.input_value("#tempo") == "124", "tempo defaults to the chosen style's"
    page.fill("#duration", "3")
    page.fill("#seed", "9")
    page.click("#generate")
    page.wait_for_selector("#result:not([hidden])", timeout=GENERATE_TIMEOUT_MS)

    src = page.eval_on_selector("#player", "a => a.src")
    assert "/api/download/electronic_" in src
    downloaded = page.request.get(src)
    assert downloaded.status == 200
    info = sf.info(io.BytesIO(downloaded.body()))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
    assert info.frames / 44100 == pytest.approx(3.0, rel=0.01)
    assert page.get_attribute("#download", "href") == src.removeprefix(page.url.rstrip("/"))

    # The browser itself decodes the file: its duration is the file's.
    assert page.eval_on_selector("#player", DECODED_DURATION) == pytest.approx(3.0, rel=0.01)

    assert page.text_content("dd[data-field=style]") == "electronic"
    assert page.text_content("dd[data-field=seed]") == "9"
    assert page.text_content("dd[data-field=tempo]") == "124 BPM"
    assert page.text_content("#status") == "Done."
    assert not page.console_problems


def test_page_shows_the_api_error(page):
    open_page(page)
    page.select_option("#style", "jazz")
    page.fill("#duration", "3")
    page.fill("#key", "H major")
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "key" in page.text_content("#error")
    assert page.get_attribute("#key", "aria-invalid") == "true", "the field the API named is marked"
    assert page.is_hidden("#result")
    assert page.is_enabled("#generate")


def test_form_takes_its_limits_from_the_service(page, server):
    limits = server.get("/", headers={"Accept": "application/json"}).json()["limits"]
    open_page(page)
    assert page.get_attribute("#duration", "max") == f"{limits['duration'][1]:g}"
    assert page.get_attribute("#tempo", "min") == str(limits["tempo"][0])
    assert page.get_attribute("#tempo", "max") == str(limits["tempo"][1])
    assert page.is_hidden("#key-form"), "no key field while keys are off"


# -- the library (keys off: every track) ----------------------------------------------------------

def test_library_shows_new_tracks_first_plays_them_and_deletes(page, server):
    open_page(page)
    assert "Every track" in page.text_content("#library-scope")
    first = generate(page, "jazz", 2, seed=11)
    second = generate(page, "ambient", 1, seed=12)
    assert row_ids(page)[:2] == [second["id"], first["id"]], "newest first, without a reload"

    for track, length in ((first, "2.0 s"), (second, "1.0 s")):
        assert row_fields(page, track["id"]) == {
            "style": track["style"], "key": track["key"], "tempo": f"{track['tempo']} BPM",
            "seed": str(track["seed"]), "length": length}
        player = row(page, track["id"]).locator("audio")
        assert player.evaluate(DECODED_DURATION) == pytest.approx(track["duration"], rel=0.01)
        # Streamed from the API with Range requests: the whole track can be sought at once.
        seekable = player.evaluate("a => a.seekable.length ? a.seekable.end(0) : 0")
        assert seekable == pytest.approx(track["duration"], rel=0.01)
        download = row(page, track["id"]).get_by_role("link", name="Download")
        assert download.get_attribute("download") == track["filename"]
        assert download.get_attribute("href") == track["download_url"]

    # The same rows after a reload: the library is the service's, not the page's memory.
    open_page(page)
    assert row_ids(page)[:2] == [second["id"], first["id"]]

    row(page, second["id"]).get_by_role("button", name="Delete").click()
    row(page, second["id"]).wait_for(state="detached")
    assert server.get(f"/api/tracks/{second['id']}").status == 404
    assert row_ids(page)[0] == first["id"]
    assert "Deleted" in page.text_content("#status")
    open_page(page)
    assert second["id"] not in row_ids(page)
    assert not page.console_problems


def test_library_pages_with_load_more(page, server):
    for seed in (21, 22, 23):  # at least three pages of two, whatever other tests left
        assert server.post_json("/api/generate", {"style": "classical", "duration": 1, "seed": seed}).status == 201
    everything = api_ids(server)

    open_page(page, "/?page_size=2")
    assert row_ids(page) == everything[:2]
    loads = 0
    while page.is_visible("#load-more"):
        page.get_by_role("button", name="Load more").click()
        loads += 1
        page.wait_for_function("n => document.querySelectorAll('#tracks > li').length >= n",
                               arg=min(2 * (loads + 1), len(everything)))
        page.wait_for_selector("#library[aria-busy=false]")
    shown = row_ids(page)
    assert shown == everything, "every track once, in the service's order"
    assert len(set(shown)) == len(shown)
    assert loads == (len(everything) + 1) // 2 - 1
    assert page.text_content("#status").endswith("loaded: that is all.")
    assert not page.console_problems


def test_layout_is_two_columns_on_wide_screens_and_one_on_narrow(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page)
    form, library = page.locator("#compose").bounding_box(), page.locator("#library").bounding_box()
    assert library["x"] >= form["x"] + form["width"], "library beside the form"
    page.set_viewport_size({"width": 480, "height": 900})
    form, library = page.locator("#compose").bounding_box(), page.locator("#library").bounding_box()
    assert library["y"] >= form["y"] + form["height"], "library below the form"
    assert library["width"] <= 480


# -- a service with a short MAX_DURATION -----------------------------------------------------------

@pytest.fixture(scope="module")
def short_server(tmp_path_factory) -> Iterator[LiveServer]:
    with own_server(tmp_path_factory.mktemp("short"), MAX_DURATION="5") as server:
        yield server


def test_default_duration_is_clamped_to_the_services_maximum(browser, short_server):
    with open_context(browser, short_server.base_url) as page:
        open_page(page)
        assert page.get_attribute("#duration", "max") == "5"
        assert page.input_value("#duration") == "5"
        assert "5" in page.text_content("#duration-range")
        with page.expect_response(lambda r: r.url.endswith("/api/generate"),
                                  timeout=GENERATE_TIMEOUT_MS) as answer:
            page.click("#generate")  # the form as it comes
        assert answer.value.status == 201, answer.value.text()
        track = answer.value.json()
        page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")
        assert track["duration"] == 5
        assert row_fields(page, track["id"])["length"] == "5.0 s"
        assert not page.console_problems

        page.fill("#duration", "6")
        page.click("#generate")
        page.wait_for_selector("#error:not([hidden])")
        assert "between 1 and 5" in page.text_content("#error")
        assert page.get_attribute("#duration", "aria-invalid") == "true"


# -- a service with keys -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys_server(tmp_path_factory) -> Iterator[LiveServer]:
    with own_server(tmp_path_factory.mktemp("keys"), AUTH="keys") as server:
        yield server


def create_key(server: LiveServer, name: str) -> str:
    """``ai_music_system.py keys create NAME`` with the server's settings: the key is the last line."""
    done = subprocess.run([sys.executable, ENTRY, "keys", "create", name], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, env=server_env(server.output_dir, server.port, AUTH="keys"))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def stored_key(page: sync_api.Page) -> str | None:
    return page.evaluate("() => localStorage.getItem('aimusic.apiKey')")


def use_key(page: sync_api.Page, key: str) -> None:
    page.fill("#api-key", key)
    page.get_by_role("button", name="Use key").click()


def test_keys_each_see_their_own_library(browser, keys_server):
    alice, bob = create_key(keys_server, "alice"), create_key(keys_server, "bob")
    refusal = keys_server.get("/api/tracks", headers={"Authorization": "Bearer not-a-key"})
    assert refusal.status == 401
    refused = refusal.json()["error"]["message"]

    with open_context(browser, keys_server.base_url) as page:
        page.goto("/")
        page.wait_for_selector("#api-key")
        assert page.is_visible("#api-key") and page.is_disabled("#generate")
        assert page.locator("#tracks > li").count() == 0

        use_key(page, "not-a-key")
        page.wait_for_selector("#error:not([hidden])")
        assert refused in page.text_content("#error"), "the API's own 401 message"
        assert stored_key(page) is None, "a refused key is not kept"
        assert page.is_disabled("#generate")
        # The browser reports the refused requests themselves; nothing else may complain.
        assert all("401" in p for p in page.console_problems), page.console_problems
        page.console_problems.clear()

        use_key(page, alice)
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#library[aria-busy=false]")
        assert stored_key(page) == alice
        assert page.is_hidden("#error")
        made = generate(page, "blues", 2, seed=31)
        assert page.eval_on_selector("#player", "a => a.src").startswith("blob:"), "played from the fetched file"
        assert page.eval_on_selector("#player", DECODED_DURATION) == pytest.approx(2.0, rel=0.01)

        # A track made elsewhere with the same key is in the library after a reload, which
        # takes the key from localStorage; its audio is fetched when Play is pressed.
        other = keys_server.post_json("/api/generate", {"style": "rock", "duration": 1, "seed": 32},
                                      headers={"Authorization": f"Bearer {alice}"}).json()
        open_page(page)
        assert page.input_value("#api-key") == alice
        assert row_ids(page) == [other["id"], made["id"]]
        track_row = row(page, other["id"])
        track_row.get_by_role("button", name="Play").click()
        player = track_row.locator("audio")
        player.wait_for(state="visible")
        assert player.evaluate("a => a.src").startswith("blob:")
        assert player.evaluate(DECODED_DURATION) == pytest.approx(1.0, rel=0.01)
        page.wait_for_function("a => !a.paused && a.currentTime > 0", arg=player.element_handle())

        with page.expect_download() as download:
            track_row.get_by_role("link", name="Download").click()
        assert download.value.suggested_filename == other["filename"]
        info = sf.info(download.value.path())
        assert info.frames / info.samplerate == pytest.approx(1.0, rel=0.01)
        assert not page.console_problems

        # Another key: none of alice's tracks, and what was on screen for her is gone.
        bobs = keys_server.post_json("/api/generate", {"style": "jazz", "duration": 1, "seed": 33},
                                     headers={"Authorization": f"Bearer {bob}"}).json()
        use_key(page, bob)
        page.wait_for_selector(f"#tracks > li[data-id='{bobs['id']}']")
        page.wait_for_selector("#library[aria-busy=false]")
        assert row_ids(page) == [bobs["id"]]
        assert page.is_hidden("#result")
        assert stored_key(page) == bob
        assert "this key" in page.text_content("#library-scope")

        page.get_by_role("button", name="Forget").click()
        assert stored_key(page) is None
        assert row_ids(page) == []
        assert not page.console_problems
    assert api_ids(keys_server, alice) == [other["id"], made["id"]]
    assert json.loads(keys_server.get("/api/tracks").body)["error"]["code"] == "unauthorized"


# -- every file of a track, its waveform and its piano roll ---------------------------------------

def test_row_offers_every_file_and_draws_the_score_with_a_playhead_that_follows(page, server):
    made = server.post_json("/api/generate", {"style": "jazz", "duration": 4, "seed": 31})
    assert made.status == 201, made.body
    track = made.json()
    score = server.get(track["links"]["score"]).json()
    open_page(page)
    item = row(page, track["id"])
    item.locator(".track-files").wait_for(state="attached")
    links = item.locator(".track-files a").evaluate_all(
        "as => as.map(a => [a.dataset.kind, new URL(a.href).pathname])")
    expected = {**track["links"]["audio"], "midi": track["links"]["midi"], "score": track["links"]["score"],
                "stems": track["links"]["stems"]}
    assert dict(links) == expected and len(links) == 7
    types = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg",
             "midi": "audio/midi", "score": "application/json", "stems": "application/zip"}
    for kind, path in links:
        answer = page.request.get(path)
        assert answer.status == 200 and answer.headers["content-type"].startswith(types[kind]), path

    item.locator(".track-score").click()
    roll = item.locator("canvas.track-roll[data-notes]")
    roll.wait_for()
    assert int(roll.get_attribute("data-notes")) == sum(len(p["notes"]) for p in score["parts"]) > 0
    assert int(roll.get_attribute("data-sections")) == len(score["sections"])
    assert roll.get_attribute("data-parts").split() == [p["name"] for p in score["parts"]]
    painted = roll.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
    assert painted > 500, "the notes are on the canvas"
    item.locator("canvas.track-wave[data-drawn=true]").wait_for()

    playhead = item.locator(".playhead")
    start = float(playhead.get_attribute("data-time"))
    item.locator(".track-player").evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("p => parseFloat(p.dataset.time) > 0.5", arg=playhead.element_handle(), timeout=20_000)
    moved = playhead.evaluate("p => new DOMMatrix(getComputedStyle(p).transform).m41")
    assert start == 0.0 and moved > 0.0, "the playhead moves with the audio"
    assert page.console_problems == []
