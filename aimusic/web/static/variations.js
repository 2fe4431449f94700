// Variations: every track shown (a library row, the result) has a Variation button that asks
// POST /api/tracks/<id>/variations for a new track on the same plan (key, tempo, form, chords)
// with new notes: of everything, of the melody, or of the arrangement. The new track is shown
// like one just generated, and a variation links to its original (variation_of, links.original).
// Uses app.js's api(), state, tracks, showResult(), audioUrl() and messages and library.js's
// addTrack() (classic scripts share their top-level bindings).
"use strict";

const VARIED = { all: "all new notes", melody: "a new melody", arrangement: "a new arrangement" };
const trackLabel = (track) => titleCase(track.style) + " in " + track.key + ", seed " + track.seed;

// Called by library.js for each row (an li.track) and by app.js for the result panel.
function addVariationControls(container, track) {
  if (container.matches("li.track")) {
    container.id = "track-" + track.id;  // what a variation's link to its original points at
    container.tabIndex = -1;
    // Variations shown before this, their original, now name it.
    for (const link of document.querySelectorAll(`.origin-link[data-original="${track.id}"]`)) {
      link.textContent = trackLabel(track);
    }
  }
  showOrigin(container, track);

  const controls = $("vary-template").content.firstElementChild.cloneNode(true);
  const what = controls.querySelector(".vary-what");
  const button = controls.querySelector(".vary-button");
  what.setAttribute("aria-label", "What a variation of " + trackLabel(track) + " changes");
  button.setAttribute("aria-label", "Make a variation of " + trackLabel(track));
  button.addEventListener("click", () => makeVariation(track, what.value, button));
  const actions = container.querySelector(".track-actions");
  const remove = actions.querySelector(".track-delete");
  if (remove) actions.insertBefore(controls, remove);
  else actions.replaceChildren(controls);
}

function showOrigin(container, track) {
  const origin = container.querySelector(".track-origin");
  const original = track.variation_of;
  origin.hidden = !original;
  if (!original) return;
  const link = origin.querySelector(".origin-link");
  link.href = "#track-" + original;
  link.dataset.original = original;
  const known = tracks.get(original);
  link.textContent = known ? trackLabel(known) : "track " + original;
  link.onclick = (event) => openOriginal(event, track);
  origin.querySelector(".origin-vary").textContent = VARIED[track.vary] ? " · " + VARIED[track.vary] : "";
}

async function makeVariation(track, vary, button) {
  button.disabled = true;
  showError("");
  const epoch = state.epoch;
  const started = performance.now();
  const tick = setInterval(() => {
    setStatus("Making a variation… " + ((performance.now() - started) / 1000).toFixed(1) + " s");
  }, 100);
  try {
    const path = (track.links && track.links.variations) || "/api/tracks/" + track.id + "/variations";
    const made = await (await api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ vary }),
    })).json();
    if (epoch !== state.epoch) return setStatus("");  // the key changed meanwhile
    if (state.auth === "keys") audioUrl(made);  // the row and #player share the download
    addTrack(made, "top");
    await showResult(made);
    setStatus("Done.");
  } catch (err) {
    setStatus("");
    if (err.status === 401) return keyRejected(err.message);
    if (err.status === 404) return showError("Could not make a variation: the track no longer exists.");
    showError("Could not make a variation: " + err.message);
  } finally {
    clearInterval(tick);
    button.disabled = false;
  }
}

// The original's row when the library shows it; otherwise the original, fetched, in the result.
async function openOriginal(event, track) {
  event.preventDefault();
  const row = document.getElementById("track-" + track.variation_of);
  if (row) {
    row.scrollIntoView({ block: "nearest" });
    return row.focus();
  }
  showError("");
  try {
    const path = (track.links && track.links.original) || "/api/tracks/" + track.variation_of;
    const original = await (await api(path)).json();
    await showResult(original);
    setStatus("The original of the variation is shown above.");
    $("result-title").focus();
  } catch (err) {
    if (err.status === 401) return keyRejected(err.message);
    if (err.status === 404) return showError("The original track has been deleted.");
    showError("Could not show the original track: " + err.message);
  }
}
