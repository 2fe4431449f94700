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

import mido
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


# -- background jobs ------------------------------------------------------------------------------

# What the newest job's row shows after each change the page makes to it: the bar's value, its
# percentage text, and how many rows the library has at that moment.
RECORD_JOB = """() => {
    window.jobSeen = [];
    const list = document.getElementById('job-list');
    new MutationObserver(() => {
        const row = list.firstElementChild;
        if (!row) return;
        window.jobSeen.push({value: row.querySelector('progress').value,
                             text: row.querySelector('.job-percent').textContent,
                             rows: document.querySelectorAll('#tracks > li').length});
    }).observe(list, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def start_batch(page: sync_api.Page, style: str, duration: float, count: int, seed: int | None = None,
                button: str = "Generate") -> dict[str, Any]:
    """Fill the form for a batch, press ``button`` and return the job the API queued."""
    page.select_option("#style", style)
    page.fill("#duration", str(duration))
    page.fill("#seed", "" if seed is None else str(seed))
    page.fill("#batch", str(count))
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    assert answer.value.status == 202, answer.value.text()
    return answer.value.json()


def job_row(page: sync_api.Page, job_id: str) -> sync_api.Locator:
    return page.locator(f"#job-list > li[data-id='{job_id}']")


def wait_job_status(page: sync_api.Page, job_id: str, status: str, timeout: float = GENERATE_TIMEOUT_MS) -> None:
    job_row(page, job_id).locator(f".job-status[data-status={status}]").wait_for(timeout=timeout)
    assert job_row(page, job_id).locator(".job-status").text_content().lower() == status


def assert_progress_rose(seen: list[dict[str, Any]]) -> None:
    """The bar only went up, through values between 0 and 100, and ended full, saying so."""
    values = [s["value"] for s in seen]
    assert values == sorted(values), values
    assert any(0 < v < 100 for v in values), f"no progress between start and end: {values}"
    assert values[-1] == 100 and seen[-1]["text"] == "100 %", seen[-1]


def test_batch_shows_rising_progress_and_its_tracks_join_the_library_as_they_finish(page, server):
    open_page(page)
    page.evaluate(RECORD_JOB)
    rows_before = page.locator("#tracks > li").count()
    # Tracks long enough that the bar is seen between its ends (a 12 s track takes a few tenths of a second).
    queued = start_batch(page, "jazz", 40, 3, seed=51)
    assert queued["requests"] == 3
    bar = job_row(page, queued["id"]).get_by_role("progressbar", name="Progress of Batch of 3 tracks", exact=False)
    bar.wait_for()
    assert "Jazz · 40 s · seeds 51–53" in job_row(page, queued["id"]).text_content()
    wait_job_status(page, queued["id"], "done")

    seen = page.evaluate("window.jobSeen")
    assert_progress_rose(seen)
    assert any(0 < s["value"] < 100 and s["rows"] > rows_before for s in seen), \
        "a track joined the library before the batch ended"
    assert bar.evaluate("p => [p.value, p.max]") == [100, 100]
    assert job_row(page, queued["id"]).locator(".job-count").text_content() == "3 of 3 tracks made"
    assert job_row(page, queued["id"]).get_by_role("button", name="Cancel").count() == 0, "nothing left to cancel"

    job = server.get(f"/api/jobs/{queued['id']}").json()
    made = [t["id"] for t in job["tracks"]]
    assert row_ids(page)[:3] == made[::-1], "newest first, without a reload"
    assert [row_fields(page, i)["seed"] for i in made] == ["51", "52", "53"]
    assert "done (3 tracks made)" in page.text_content("#status")

    # A finished job leaves the panel when dismissed, and is not shown again after a reload.
    job_row(page, queued["id"]).get_by_role("button", name="Dismiss").click()
    assert job_row(page, queued["id"]).count() == 0 and page.is_visible("#jobs-empty")
    open_page(page)
    assert job_row(page, queued["id"]).count() == 0
    assert row_ids(page)[:3] == made[::-1]
    assert not page.console_problems


def test_a_running_batch_is_followed_again_after_a_reload_and_can_be_cancelled(page, server):
    before = set(api_ids(server))
    open_page(page)
    queued = start_batch(page, "rock", 60, 6, button="Generate in background")  # still running after a reload
    row_ = job_row(page, queued["id"])
    row_.locator(".job-count").filter(has_not_text="0 of 6").wait_for(timeout=GENERATE_TIMEOUT_MS)

    open_page(page)  # the job is still running: the page shows it again and streams on
    wait_job_status(page, queued["id"], "running")
    bar = row_.get_by_role("progressbar")
    shown = bar.evaluate("p => p.value")
    page.wait_for_function("([p, v]) => p.value > v", arg=[bar.element_handle(), shown], timeout=60_000)
    assert 0 < shown < 100

    row_.get_by_role("button", name="Cancel").click()
    wait_job_status(page, queued["id"], "cancelled")
    job = server.get(f"/api/jobs/{queued['id']}").json()
    assert job["status"] == "cancelled"
    made = [t["id"] for t in job["tracks"]]
    assert 1 <= len(made) < 6
    assert row_.locator(".job-count").text_content() == f"{len(made)} of 6 tracks made"
    stopped = bar.evaluate("p => p.value")
    assert shown < stopped < 100, "the bar stays where the job stopped"
    assert row_.locator(".job-percent").text_content() == f"{round(stopped)} %"
    assert [i for i in row_ids(page) if i not in before] == made[::-1], "the tracks made before the cancel"
    assert set(api_ids(server)) - before == set(made), "and no more were made"
    assert page.get_by_role("button", name="Cancel").count() == 0

    open_page(page)
    assert job_row(page, queued["id"]).count() == 0, "an ended job is not followed again"
    assert [i for i in row_ids(page) if i not in before] == made[::-1]
    assert not page.console_problems


def test_more_jobs_than_streams_all_end_with_their_tracks_in_the_library(page, server):
    open_page(page)
    # The page streams two jobs at a time (a browser has six connections to a host) and polls
    # for the others: every one of them still ends and brings its track.
    queued = [start_batch(page, "classical", 1, 1, seed=70 + n, button="Generate in background") for n in range(4)]
    for job in queued:
        wait_job_status(page, job["id"], "done")
    assert page.eval_on_selector_all("#job-list > li", "rows => rows.map(r => r.dataset.id)") == \
        [job["id"] for job in reversed(queued)], "newest job first"
    made = [server.get(f"/api/jobs/{job['id']}").json()["tracks"][0] for job in queued]
    newest_first = sorted(made, key=lambda t: t["created_at"], reverse=True)
    assert row_ids(page)[:4] == [t["id"] for t in newest_first]
    assert {row_fields(page, t["id"])["seed"] for t in made} == {"70", "71", "72", "73"}
    assert not page.console_problems


def test_batch_count_and_the_apis_errors_for_a_batch_mark_the_field(page):
    open_page(page)
    page.fill("#duration", "1")
    page.fill("#batch", "51")
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])")
    assert "1 to 50" in page.text_content("#error")
    assert page.get_attribute("#batch", "aria-invalid") == "true"

    page.fill("#batch", "2")
    page.fill("#key", "H major")
    with page.expect_response(lambda r: r.url.endswith("/api/jobs")) as answer:
        page.click("#generate")
    assert answer.value.status == 400
    page.wait_for_function("() => document.getElementById('error').textContent.includes('requests[0].key')")
    assert page.get_attribute("#key", "aria-invalid") == "true"
    assert page.get_attribute("#batch", "aria-invalid") is None
    assert page.locator("#job-list > li").count() == 0
    assert all("400" in p for p in page.console_problems), page.console_problems


def test_batch_progress_streams_with_a_key(browser, keys_server):
    key = create_key(keys_server, "dora")
    with open_context(browser, keys_server.base_url) as page:
        page.goto("/")
        page.wait_for_selector("#api-key")
        use_key(page, key)
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#library[aria-busy=false]")
        page.evaluate(RECORD_JOB)
        with page.expect_request(lambda r: r.url.endswith("/events")) as stream:
            queued = start_batch(page, "blues", 30, 3, seed=61)  # long enough to be seen between events
        # EventSource cannot send the key: the page reads the stream with fetch().
        assert stream.value.resource_type == "fetch"
        assert stream.value.headers.get("authorization") == f"Bearer {key}"
        wait_job_status(page, queued["id"], "done")
        assert_progress_rose(page.evaluate("window.jobSeen"))

        made = [t["id"] for t in keys_server.get(
            f"/api/jobs/{queued['id']}", headers={"Authorization": f"Bearer {key}"}).json()["tracks"]]
        assert len(made) == 3 and row_ids(page) == made[::-1]
        assert row(page, made[0]).get_by_role("button", name="Play").is_visible(), "audio fetched with the key on demand"
        assert not page.console_problems


def test_with_keys_the_files_menu_and_the_score_are_fetched_with_the_key(browser, keys_server):
    carol = create_key(keys_server, "carol")
    made = keys_server.post_json("/api/generate", {"style": "rock", "duration": 2, "seed": 34},
                                 headers={"Authorization": f"Bearer {carol}"})
    assert made.status == 201, made.body
    track = made.json()
    with open_context(browser, keys_server.base_url) as page:
        page.goto("/")
        page.wait_for_selector("#api-key")
        use_key(page, carol)
        page.wait_for_selector(f"#tracks > li[data-id='{track['id']}'] .track-files")
        item = row(page, track["id"])
        item.locator(".track-files summary").click()
        with page.expect_download() as download:
            item.locator(".track-files a[data-kind=midi]").click()
        assert download.value.suggested_filename == f"rock_{track['id']}.mid"
        midi = mido.MidiFile(download.value.path())
        assert [t.name for t in midi.tracks[1:]] == [p["name"] for p in keys_server.get(
            track["links"]["score"], headers={"Authorization": f"Bearer {carol}"}).json()["parts"]]
        item.locator(".track-score").click()
        item.locator("canvas.track-roll[data-notes]").wait_for()
        item.locator("canvas.track-wave[data-drawn=true]").wait_for()
        assert not page.console_problems
