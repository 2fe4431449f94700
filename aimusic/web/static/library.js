// The library: one row per track of this key (with keys off, every track), newest first, a page
// at a time (GET /api/tracks), each with its player, download link and Delete button. Rows are
// added by app.js (a track just generated), jobs.js (a batch's tracks) and variations.js.
// Uses app.js's api(), state, tracks, audioUrl() and messages (classic scripts share their
// top-level bindings).
"use strict";

function renderTrack(track) {
  const row = $("track-template").content.firstElementChild.cloneNode(true);
  const label = titleCase(track.style) + " in " + track.key + ", seed " + track.seed;
  row.dataset.id = track.id;
  row.querySelector(".track-title").textContent = titleCase(track.style) + " · " + track.key;
  const time = row.querySelector(".track-time");
  time.dateTime = track.created_at;
  time.textContent = new Date(track.created_at).toLocaleString();
  const fields = {
    style: track.style, key: track.key, tempo: track.tempo + " BPM", seed: String(track.seed),
    length: formatLength(track.duration),
  };
  for (const [name, value] of Object.entries(fields)) {
    row.querySelector(`dd[data-field="${name}"]`).textContent = value;
  }

  const player = row.querySelector(".track-player");
  player.setAttribute("aria-label", "Play " + label);
  const load = row.querySelector(".track-load");
  if (state.auth === "keys" && !audioUrls.has(track.id)) {
    // Nothing is downloaded until asked for: a long library would otherwise fetch every file.
    player.hidden = true;
    load.hidden = false;
    load.setAttribute("aria-label", "Play " + label);
    load.addEventListener("click", () => playFetched(track, player, load));
  } else {
    audioUrl(track).then(
      (url) => { player.src = url; },
      (err) => showError("Could not load the audio: " + err.message));
  }

  const download = row.querySelector(".track-download");
  download.href = track.download_url;
  download.dataset.track = track.id;
  download.setAttribute("download", track.filename);
  download.setAttribute("aria-label", "Download " + label + " (WAV)");

  const remove = row.querySelector(".track-delete");
  remove.setAttribute("aria-label", "Delete " + label);
  remove.addEventListener("click", () => deleteTrack(track, row, remove));
  addVariationControls(row, track);  // variations.js: its Variation button, a link to its original
  return row;
}

async function playFetched(track, player, button) {
  button.disabled = true;
  button.textContent = "Loading…";
  try {
    player.src = await audioUrl(track);
  } catch (err) {
    button.disabled = false;
    button.textContent = "Play";
    if (err.status === 401) return keyRejected(err.message);
    return showError("Could not load the audio: " + err.message);
  }
  button.hidden = true;
  player.hidden = false;
  player.focus();
  // The click started this, but the browser may still refuse to autoplay: the controls remain.
  player.play().catch(() => {});
}

function addTrack(track, where) {
  if (tracks.has(track.id)) return;  // already shown (a page can overlap a track just made)
  tracks.set(track.id, track);
  const row = renderTrack(track);
  if (where === "top") {
    // Newest first whatever order tracks arrive in: jobs followed by a stream and jobs polled
    // learn of their ends in either order, and a job's tracks can finish within milliseconds.
    const older = [...$("tracks").children].find((r) => (tracks.get(r.dataset.id)?.created_at ?? "") < track.created_at);
    $("tracks").insertBefore(row, older ?? null);
  } else $("tracks").append(row);
  updateEmpty();
}

function updateEmpty() {
  const busy = $("library").getAttribute("aria-busy") === "true";
  $("library-empty").hidden = busy || tracks.size > 0 || (state.auth === "keys" && !state.key);
}

function setBusy(busy) {
  $("library").setAttribute("aria-busy", String(busy));
  updateEmpty();
}

// Forget every row (the key changed): their audio URLs are revoked and late answers are ignored.
function clearLibrary() {
  state.epoch += 1;
  state.cursor = null;
  for (const id of tracks.keys()) releaseAudio(id);
  tracks.clear();
  $("tracks").replaceChildren();
  clearJobs();  // jobs.js: they are the old key's too
  $("load-more").hidden = true;
  if (!$("result").hidden) hideResult();
  updateEmpty();
}

async function loadPage() {
  const epoch = state.epoch;
  const params = new URLSearchParams({ limit: String(state.pageSize) });
  if (state.cursor) params.set("cursor", state.cursor);
  setBusy(true);
  try {
    const page = await (await api("/api/tracks?" + params)).json();
    if (epoch !== state.epoch) return;
    for (const track of page.tracks) addTrack(track, "bottom");
    state.cursor = page.next_cursor;
    $("load-more").hidden = !state.cursor;
  } finally {
    if (epoch === state.epoch) setBusy(false);
  }
}

async function loadMore() {
  const button = $("load-more");
  button.disabled = true;
  showError("");
  const before = tracks.size;
  try {
    await loadPage();
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    return showError("Could not load more tracks: " + err.message);
  } finally {
    button.disabled = false;
  }
  const added = tracks.size - before;
  const count = added === 1 ? "1 more track" : added + " more tracks";
  setStatus(count + (state.cursor ? " loaded." : " loaded: that is all."));
  if (button.hidden) $("library-title").focus();  // the button is gone: keep focus in the library
}

async function deleteTrack(track, row, button) {
  button.disabled = true;
  showError("");
  try {
    await api(track.links.self, { method: "DELETE" });
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    if (err.status !== 404) {  // 404: it is gone already, so the row goes too
      button.disabled = false;
      return showError("Could not delete the track: " + err.message);
    }
  }
  // Keep the keyboard user in the list: focus moves to the next row's delete button.
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  tracks.delete(track.id);
  if ($("result").dataset.track === track.id) hideResult();
  releaseAudio(track.id);
  updateEmpty();
  setStatus("Deleted the " + track.style + " track in " + track.key + " (seed " + track.seed + ").");
  (next ? next.querySelector(".track-delete") : $("library-title")).focus();
}

// With keys on a download link cannot send the key either: the first click fetches the file
// with it and then follows the link to the object URL.
async function downloadWithKey(event) {
  const link = event.target.closest("a[data-track]");
  if (!link || state.auth !== "keys" || link.href.startsWith("blob:")) return;
  const track = tracks.get(link.dataset.track);
  if (!track) return;
  event.preventDefault();
  try {
    link.href = await audioUrl(track);
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    return showError("Could not download the track: " + err.message);
  }
  link.click();
}
