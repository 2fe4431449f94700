// Background jobs: a batch from the form is queued with POST /api/jobs and followed here. Each
// job's row has a progress bar fed by the job's Server-Sent Events (GET /api/jobs/<id>/events);
// every track the job finishes goes to the top of the library as soon as the stream reports it.
// When the page loads, jobs still queued or running (GET /api/jobs) are shown and followed again.
// Uses app.js's api(), state, requestBody() and messages, library.js's addTrack() and
// controls.js's controlsReady() (classic scripts share their top-level bindings).
"use strict";

const MAX_BATCH = 50;      // the API's limit of requests in one job (GET / does not state it)
// A browser opens at most six connections to one host and each stream keeps one busy: the other
// jobs are refreshed from GET /api/jobs instead, so audio and the library still load.
const MAX_STREAMS = 2;
const POLL_MS = 3000;
const RETRY_MS = 2000;     // until the server's "retry:" says otherwise
const ACTIVE = new Set(["queued", "running"]);
const SEED_MAX = 4294967295;

const jobViews = new Map();  // job id -> {job, row, seen (track ids handled), controller, streaming, finished}
let pollTimer = 0;

const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
});

// --- the event stream ------------------------------------------------------------------------------

// Read a Server-Sent Events stream with fetch(), so the request carries the key when keys are on
// (EventSource cannot send headers); the same reader serves both modes. Calls onEvent(type, data)
// for each event and resolves, with the reconnection delay the server asked for, when the server
// closes the stream. Lines end in LF or CRLF (the service sends LF).
async function readEvents(path, onEvent, signal) {
  const response = await api(path, { headers: { Accept: "text/event-stream" }, cache: "no-store", signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "", type = "", data = [], retry = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return retry;
    const lines = (buffer + value).split("\n");
    buffer = lines.pop();  // the last piece may be half a line: it waits for the next chunk
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {  // a blank line ends an event
        if (data.length) onEvent(type || "message", data.join("\n"));
        type = "";
        data = [];
      } else if (!line.startsWith(":")) {  // ":" starts a comment (the keep-alives)
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
        else if (field === "retry" && /^\d+$/.test(text)) retry = Number(text);
      }
    }
  }
}

// Follow one job until it ends. A stream that closes early (the service restarted, the network
// dropped, or the hour a stream may last is up) is opened again: its first event is the job as
// it is now, so nothing is missed.
async function follow(view) {
  const { signal } = view.controller;
  const epoch = state.epoch;
  let delay = RETRY_MS;
  view.streaming = true;
  try {
    while (!view.finished && !signal.aborted) {
      try {
        delay = (await readEvents(view.job.links.events, (type, data) => {
          if (type === "job" || type === "end") updateJob(view, JSON.parse(data));
        }, signal)) ?? delay;
      } catch (err) {
        if (signal.aborted || epoch !== state.epoch) return;
        if (err.status === 401) return keyRejected(err.message);
        if (err.status === 404) return dropJob(view, "A background job is no longer known to the service.");
        // anything else (the network, a 503 while the service restarts): try again after the delay
      }
      if (!view.finished) await sleep(delay, signal);
    }
  } finally {
    view.streaming = false;
    if (epoch === state.epoch) scheduleJobs();  // a stream is free for a job that waits
  }
}

// Stream the oldest unfinished jobs (the queue runs those first); poll for the rest.
function scheduleJobs() {
  const waiting = [...jobViews.values()].filter((v) => !v.finished)
    .sort((a, b) => a.job.created_at.localeCompare(b.job.created_at));
  let streams = waiting.filter((v) => v.streaming).length;
  for (const view of waiting) {
    if (streams >= MAX_STREAMS) break;
    if (!view.streaming) {
      follow(view);
      streams += 1;
    }
  }
  if (!pollTimer && waiting.some((v) => !v.streaming)) pollTimer = setTimeout(pollJobs, POLL_MS);
}

async function pollJobs() {
  const epoch = state.epoch;
  try {
    const { jobs } = await (await api("/api/jobs?limit=100")).json();
    if (epoch !== state.epoch) return;
    for (const job of jobs) {
      const view = jobViews.get(job.id);
      if (view && !view.streaming) updateJob(view, job);
    }
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    // otherwise the next poll tries again
  } finally {
    if (epoch === state.epoch) {
      pollTimer = 0;
      scheduleJobs();
    }
  }
}

// --- the jobs panel ------------------------------------------------------------------------------

function describeRequest(body, count) {
  const parts = [titleCase(body.style), body.duration + " s"];
  if (body.key) parts.push(body.key);
  if (body.seed !== undefined) parts.push(count > 1 ? `seeds ${body.seed}–${body.seed + count - 1}` : "seed " + body.seed);
  return parts.join(" · ");
}

function showJob(job, summary) {
  const row = $("job-template").content.firstElementChild.cloneNode(true);
  const title = "Batch of " + plural(job.requests, "track");
  const created = new Date(job.created_at);
  row.dataset.id = job.id;
  row.querySelector(".job-title").textContent = title;
  const time = row.querySelector(".job-time");
  time.dateTime = job.created_at;
  time.textContent = created.toLocaleTimeString();
  row.querySelector(".job-summary").textContent = summary || "";
  // Several batches can have the same title: their controls are told apart by the time.
  const name = title + " queued at " + created.toLocaleTimeString();
  row.querySelector("progress").setAttribute("aria-label", "Progress of " + name);
  const cancel = row.querySelector(".job-cancel");
  cancel.setAttribute("aria-label", "Cancel " + name);
  const dismiss = row.querySelector(".job-dismiss");
  dismiss.setAttribute("aria-label", "Dismiss " + name);

  // Tracks the job had already made are in the library (GET /api/tracks) or were deleted:
  // only the ones made from now on are added.
  const view = { job, row, name, seen: new Set(job.tracks.map((t) => t.id)), controller: new AbortController(),
                 streaming: false, finished: false, cancelling: false };
  cancel.addEventListener("click", () => cancelJob(view, cancel));
  dismiss.addEventListener("click", () => dropJob(view));
  jobViews.set(job.id, view);
  $("job-list").prepend(row);
  $("jobs-empty").hidden = true;
  renderJob(view);
  scheduleJobs();
  return view;
}

function renderJob(view) {
  const { job, row } = view;
  // The service reports a cancelled job as complete (progress 1): the bar stays where the job
  // stopped, so it shows how much was made. A failed one stays put as well.
  if (job.status === "done" || ACTIVE.has(job.status)) {
    row.querySelector("progress").value = job.progress * 100;
    row.querySelector(".job-percent").textContent = Math.round(job.progress * 100) + " %";
  }
  const status = row.querySelector(".job-status");
  const shown = view.cancelling && ACTIVE.has(job.status) ? "cancelling" : job.status;
  status.dataset.status = shown;
  status.textContent = titleCase(shown);
  row.dataset.status = job.status;
  row.querySelector(".job-count").textContent = `${job.tracks.length} of ${plural(job.requests, "track")} made`;
  // "cancelled" says itself in the status; other reasons (a time limit, an internal error) do not.
  const reason = job.status === "failed" && job.reason ? job.reason : "";
  row.querySelector(".job-reason").textContent = reason;
  row.querySelector(".job-reason").hidden = !reason;
  const errors = row.querySelector(".job-errors");
  errors.replaceChildren(...job.errors.map((e) => {
    const item = document.createElement("li");
    item.textContent = `Track ${e.index + 1}: ${e.error.message}`;
    return item;
  }));
  errors.hidden = !job.errors.length;
  row.querySelector(".job-cancel").hidden = !ACTIVE.has(job.status);
  row.querySelector(".job-dismiss").hidden = ACTIVE.has(job.status);
}

function updateJob(view, job) {
  if (view.finished || !jobViews.has(job.id)) return;  // a late answer never undoes the end
  view.job = job;
  // Newest first in the library: the oldest new track goes on top first, the newest last.
  const fresh = job.tracks.filter((t) => !view.seen.has(t.id))
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
  for (const track of fresh) {
    view.seen.add(track.id);
    addTrack(track, "top");
  }
  renderJob(view);
  if (ACTIVE.has(job.status)) return;
  view.finished = true;
  view.controller.abort();  // nothing more to hear; closes a stream that is still open
  const made = plural(job.tracks.length, "track") + " made";
  const failed = job.errors.length ? ", " + job.errors.length + " failed" : "";
  setStatus(`${view.name}: ${job.status} (${made}${failed}).`);
}

async function cancelJob(view, button) {
  button.disabled = true;
  showError("");
  try {
    const job = await (await api(view.job.links.self, { method: "DELETE" })).json();
    // A running request stops at its next step: until then the job still runs, and its stream
    // reports "cancelled" when it has stopped.
    view.cancelling = true;
    if (!view.finished) updateJob(view, job);
  } catch (err) {
    button.disabled = false;
    if (err.status === 401) return keyRejected(err.message);
    if (err.status === 404) return dropJob(view, "A background job is no longer known to the service.");
    return showError("Could not cancel the job: " + err.message);
  }
}

// Take a job off the panel (the service keeps it). Focus stays in the panel.
function dropJob(view, message) {
  view.finished = true;
  view.controller.abort();
  jobViews.delete(view.job.id);
  const next = view.row.nextElementSibling || view.row.previousElementSibling;
  const hadFocus = view.row.contains(document.activeElement);
  view.row.remove();
  $("jobs-empty").hidden = jobViews.size > 0;
  if (message) showError(message);
  if (hadFocus) (next ? next.querySelector(".job-actions button:not([hidden])") : $("jobs-title")).focus();
}

// Forget every job on the panel (the key changed, or the page is going away).
function clearJobs() {
  for (const view of jobViews.values()) view.controller.abort();
  jobViews.clear();
  clearTimeout(pollTimer);
  pollTimer = 0;
  $("job-list").replaceChildren();
  $("jobs-empty").hidden = false;
}

// After the library loaded: show the jobs of this key still queued or running, oldest at the bottom.
// This key's jobs still running, asked for before the library's first page is loaded: a track a
// job finishes in between is then in that page, not lost between the two answers (the job's
// tracks known here are taken as shown). A refused key is the caller's to report.
async function runningJobs() {
  try {
    const { jobs } = await (await api("/api/jobs?limit=100")).json();
    return jobs.filter((job) => ACTIVE.has(job.status)).reverse();
  } catch (err) {
    if (err.status === 401) throw err;
    showError("Could not load the background jobs: " + err.message);
    return [];
  }
}

// Follow the jobs runningJobs() found, each once.
function followJobs(jobs) {
  for (const job of jobs) if (!jobViews.has(job.id)) showJob(job);
}

// --- the form ------------------------------------------------------------------------------------

// The batch count, or null when it is not a whole number from 1 to MAX_BATCH.
function batchCount() {
  const text = $("batch").value.trim();
  const count = Number(text === "" ? "1" : text);
  return Number.isInteger(count) && count >= 1 && count <= MAX_BATCH ? count : null;
}

// Queue `count` copies of the form's request; with a seed, the copies take seed, seed + 1, …
// (so the batch holds different tracks that can each be made again).
async function submitJob() {
  showError("");
  markInvalid([]);
  const count = batchCount();
  if (count === null) {
    markInvalid([{ field: "batch" }]);
    showError(`Batch must be a whole number from 1 to ${MAX_BATCH}.`);
    return $("batch").focus();
  }
  if (!(await controlsReady())) return;  // controls.js: a MIDI file refused here is never sent
  const base = requestBody();
  if (base.seed !== undefined && base.seed + count - 1 > SEED_MAX) {
    markInvalid([{ field: "seed" }]);
    showError(`With a batch of ${count} the seed must be at most ${SEED_MAX - count + 1}.`);
    return $("seed").focus();
  }
  const requests = Array.from({ length: count },
    (_, i) => (base.seed === undefined ? { ...base } : { ...base, seed: base.seed + i }));
  const epoch = state.epoch;
  setGenerateEnabled(false);
  try {
    const job = await (await api("/api/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ requests }),
    })).json();
    if (epoch !== state.epoch) return;  // the key changed meanwhile: the job is not this key's
    showJob(job, describeRequest(base, count));
    setStatus(`Queued ${plural(count, "track")} in the background.`);
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    markInvalid(err.details);
    showError("Could not queue the batch: " + err.message);
  } finally {
    setGenerateEnabled(!(state.auth === "keys" && !state.key));
  }
}

$("generate-background").addEventListener("click", submitJob);
// Leaving the page: close the streams before the browser tears them down.
window.addEventListener("pagehide", () => { for (const view of jobViews.values()) view.controller.abort(); });
