// The page talks to the same JSON API as every other client: GET / (auth mode and limits),
// /api/styles, /api/generate and /api/tracks. Here: the connection, the form and the keys; the
// library rows are library.js's, the musical controls controls.js's, variations variations.js's,
// the files and piano roll score-view.js's, background jobs jobs.js's.
//
// The library lists this key's tracks (with keys off, all tracks), newest first, a page at a
// time. The page size is 20 unless the page's address says otherwise: /?page_size=5 (1 to the
// service's maximum).
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "aimusic.apiKey";
const DEFAULT_PAGE_SIZE = 20;

const state = {
  auth: "off",       // "keys" when every /api/ request needs a key
  key: "",           // the key in use (keys on only)
  styles: [],
  pageSize: DEFAULT_PAGE_SIZE,
  cursor: null,      // next_cursor of the last page loaded; null when there is no more
  epoch: 0,          // bumped when the library is cleared, so late answers for the old key are dropped
};
const tracks = new Map();     // id -> track object, for every row shown
const audioUrls = new Map();  // id -> Promise of an object URL (keys on: audio is fetched with the key)

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// --- talking to the service ------------------------------------------------------------------

// fetch() with the key when keys are on; a failed answer becomes an ApiError with the API's message.
async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.auth === "keys" && state.key) headers.Authorization = "Bearer " + state.key;
  const response = await fetch(path, { ...options, headers });
  if (response.ok) return response;
  const payload = await response.json().catch(() => null);
  const error = payload && payload.error;
  const failure = new ApiError(response.status, error ? error.message : "HTTP " + response.status);
  failure.details = (error && error.details) || [];
  throw failure;
}

// Where a track's audio can be played from. With keys off that is the API's URL (the browser
// streams it with Range requests, so seeking works). With keys on an <audio> element cannot send
// the Authorization header, so the file is fetched with it once and played from an object URL,
// revoked when the track leaves the page.
function audioUrl(track) {
  if (state.auth !== "keys") return Promise.resolve(track.links.audio.wav);
  if (!audioUrls.has(track.id)) {
    const url = api(track.links.audio.wav, { headers: { Accept: "audio/wav" } })
      .then((response) => response.blob())
      .then((blob) => URL.createObjectURL(blob));
    url.catch(() => audioUrls.delete(track.id));  // a failed fetch may be tried again
    audioUrls.set(track.id, url);
  }
  return audioUrls.get(track.id);
}

function releaseAudio(id) {
  const url = audioUrls.get(id);
  audioUrls.delete(id);
  if (url) url.then((u) => URL.revokeObjectURL(u), () => {});
}

// --- messages ----------------------------------------------------------------------------------

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function setStatus(message) {
  $("status").textContent = message;
}

// Mark the form fields the API named in its error, so the user sees which one to fix. A batch's
// errors name "requests[i].field": every copy comes from the same form field.
function markInvalid(details) {
  for (const input of $("generate-form").querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const detail of details || []) {
    const input = $("generate-form").elements.namedItem(String(detail.field).replace(/^requests\[\d+\]\./, ""));
    if (input) input.setAttribute("aria-invalid", "true");
  }
  showFieldMessages(details);  // controls.js: each message next to its control
}

// --- formatting --------------------------------------------------------------------------------

const titleCase = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

function formatLength(seconds) {
  if (seconds < 60) return seconds.toFixed(1) + " s";
  const whole = Math.round(seconds);
  return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
}

// --- the form ----------------------------------------------------------------------------------

// Both ways of generating (now, or in the background) are open or closed together.
function setGenerateEnabled(enabled) {
  $("generate").disabled = !enabled;
  $("generate-background").disabled = !enabled;
}

// The service's limits (MAX_DURATION and the tempo range) set the form's, so the default values
// are always ones the service accepts.
function applyLimits(limits) {
  const [minDuration, maxDuration] = limits.duration;
  const duration = $("duration");
  duration.min = minDuration;
  duration.max = maxDuration;
  duration.value = clamp(Number(duration.value) || maxDuration, minDuration, maxDuration);
  $("duration-range").textContent = "(" + minDuration + "–" + maxDuration + ")";

  const [minTempo, maxTempo] = limits.tempo;
  $("tempo").min = minTempo;
  $("tempo").max = maxTempo;
  $("tempo-range").textContent = "(" + minTempo + "–" + maxTempo + ")";

  const [minPage, maxPage] = limits.page_size;
  const asked = Number.parseInt(new URLSearchParams(location.search).get("page_size"), 10);
  state.pageSize = clamp(Number.isNaN(asked) ? DEFAULT_PAGE_SIZE : asked, minPage, maxPage);
}

function applyStyle(name) {
  const style = state.styles.find((s) => s.name === name);
  if (!style) return;
  $("style-description").textContent = style.description + " (" + style.instruments.join(", ") + ")";
  $("tempo").value = style.default_tempo;
  $("tempo").placeholder = style.tempo_range[0] + "-" + style.tempo_range[1];
  fillControls(style);  // controls.js: meters, energy and instruments of this style
}

async function loadStyles() {
  state.styles = (await (await api("/api/styles")).json()).styles;
  const select = $("style");
  for (const style of state.styles) {
    const option = document.createElement("option");
    option.value = style.name;
    option.textContent = titleCase(style.name);
    select.appendChild(option);
  }
  applyStyle(select.value);
}

function requestBody() {
  const body = { style: $("style").value, duration: Number($("duration").value) };
  const tempo = $("tempo").value.trim();
  if (tempo !== "") body.tempo = Number(tempo);
  const key = $("key").value.trim();
  if (key !== "") body.key = key;
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  return addControls(body);  // controls.js: meter, energy, instruments, primer, once set
}

async function showResult(meta) {
  const player = $("player");
  // With keys off the download URL streams directly; with keys on it is the fetched blob.
  player.src = state.auth === "keys" ? await audioUrl(meta) : meta.download_url;
  $("download").href = meta.download_url;
  $("download").dataset.track = meta.id;
  $("download").setAttribute("download", meta.filename);
  const rows = [
    ["Style", meta.style], ["Duration", meta.duration.toFixed(2) + " s"], ["Tempo", meta.tempo + " BPM"],
    ["Key", meta.key], ["Time signature", meta.time_signature], ["Bars", meta.bars], ["Seed", meta.seed],
    ["Melody model", meta.model], ["Format", meta.sample_rate + " Hz, " + meta.channels + " channels, 16-bit WAV"],
    ["Generated in", meta.generation_time_ms + " ms"],
  ];
  const list = $("metadata");
  list.replaceChildren();
  for (const [label, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    dd.dataset.field = label.toLowerCase().replace(/ /g, "_");
    list.append(dt, dd);
  }
  addVariationControls($("result"), meta);
  $("result").dataset.track = meta.id;
  $("result").hidden = false;
}

function hideResult() {
  $("result").hidden = true;
  delete $("result").dataset.track;
  $("player").removeAttribute("src");
  $("player").load();  // stops playback and drops the old source
}

async function generate(event) {
  event.preventDefault();
  if (batchCount() !== 1) return submitJob();  // a batch is a job (jobs.js), which also reports a bad count
  showError("");
  markInvalid([]);
  if (!(await controlsReady())) return;  // controls.js: a MIDI file refused here is never sent
  setGenerateEnabled(false);
  const epoch = state.epoch;
  const started = performance.now();
  const tick = setInterval(() => {
    setStatus("Composing and rendering… " + ((performance.now() - started) / 1000).toFixed(1) + " s");
  }, 100);
  try {
    const track = await (await api("/api/generate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(requestBody()),
    })).json();
    if (epoch !== state.epoch) return setStatus("");  // the key changed meanwhile: the track is not this key's
    if (state.auth === "keys") audioUrl(track);  // start the download now: the row and #player share it
    addTrack(track, "top");
    await showResult(track);
    setStatus("Done.");
  } catch (err) {
    setStatus("");
    if (err.status === 401) return keyRejected(err.message);
    markInvalid(err.details);
    showError("Could not generate: " + err.message);
  } finally {
    clearInterval(tick);
    setGenerateEnabled(!(state.auth === "keys" && !state.key));
  }
}

// --- keys --------------------------------------------------------------------------------------

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";  // storage can be disabled: then the key lasts as long as the page
  }
}

function storeKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* see storedKey */
  }
}

function keyRejected(message) {
  storeKey("");  // a key the service refuses is not kept for the next visit
  state.key = "";
  clearLibrary();
  setGenerateEnabled(false);
  $("library-scope").textContent = "Enter a valid API key to see your tracks.";
  showError(message);
  $("api-key").focus();
}

async function useKey(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) {
    showError("Enter an API key.");
    return $("api-key").focus();
  }
  state.key = key;
  storeKey(key);
  await connect();
}

function forgetKey() {
  storeKey("");
  state.key = "";
  $("api-key").value = "";
  clearLibrary();
  setGenerateEnabled(false);
  $("library-scope").textContent = "Enter your API key to see your tracks.";
  setStatus("The key is no longer kept in this browser.");
  $("api-key").focus();
}

// --- start ---------------------------------------------------------------------------------------

// Load what depends on the key: the styles (once) and the first page of the library.
async function connect() {
  clearLibrary();
  showError("");
  try {
    if (!state.styles.length) await loadStyles();
    const epoch = state.epoch;
    const running = await runningJobs();  // jobs.js: before the page, so no track falls between
    await loadPage();
    if (epoch === state.epoch) followJobs(running);
  } catch (err) {
    setBusy(false);
    if (err.status === 401) return keyRejected(err.message);
    return showError("Could not load the library: " + err.message);
  }
  $("library-scope").textContent = state.auth === "keys"
    ? "Tracks made with this key, newest first." : "Every track of this service, newest first.";
  setGenerateEnabled(true);
  document.body.dataset.ready = "true";
}

async function start() {
  $("generate-form").addEventListener("submit", generate);
  $("style").addEventListener("change", () => applyStyle($("style").value));
  $("key-form").addEventListener("submit", useKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("load-more").addEventListener("click", loadMore);
  document.addEventListener("click", downloadWithKey);
  setGenerateEnabled(false);  // until the styles are known

  let info;
  try {
    info = await (await api("/")).json();  // open even with keys on: says whether they are
  } catch (err) {
    setBusy(false);
    return showError("Could not reach the service: " + err.message);
  }
  state.auth = info.auth;
  document.body.dataset.auth = info.auth;
  applyLimits(info.limits);
  if (state.auth === "keys") {
    $("key-form").hidden = false;
    state.key = storedKey();
    $("api-key").value = state.key;
    if (!state.key) {
      setBusy(false);
      $("library-scope").textContent = "Enter your API key to see your tracks.";
      return $("api-key").focus();
    }
  }
  await connect();
}

document.addEventListener("DOMContentLoaded", start);
