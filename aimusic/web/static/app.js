// The page talks to the same JSON API as every other client: /api/styles, /api/generate.
"use strict";

const $ = (id) => document.getElementById(id);
let styles = [];

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function applyStyle(name) {
  const style = styles.find((s) => s.name === name);
  if (!style) return;
  $("style-description").textContent = style.description + " (" + style.instruments.join(", ") + ")";
  $("tempo").value = style.default_tempo;
  $("tempo").placeholder = style.tempo_range[0] + "-" + style.tempo_range[1];
}

async function loadStyles() {
  try {
    const response = await fetch("/api/styles", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("could not load the styles (HTTP " + response.status + ")");
    styles = (await response.json()).styles;
  } catch (err) {
    showError(err.message);
    return;
  }
  const select = $("style");
  for (const style of styles) {
    const option = document.createElement("option");
    option.value = style.name;
    option.textContent = style.name.charAt(0).toUpperCase() + style.name.slice(1);
    select.appendChild(option);
  }
  applyStyle(select.value);
  select.addEventListener("change", () => applyStyle(select.value));
  document.body.dataset.ready = "true";
}

function requestBody() {
  const body = { style: $("style").value, duration: Number($("duration").value) };
  const tempo = $("tempo").value.trim();
  if (tempo !== "") body.tempo = Number(tempo);
  const key = $("key").value.trim();
  if (key !== "") body.key = key;
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  return body;
}

function showResult(meta) {
  const player = $("player");
  player.src = meta.download_url;
  $("download").href = meta.download_url;
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
  $("result").hidden = false;
}

async function generate(event) {
  event.preventDefault();
  showError("");
  const button = $("generate");
  button.disabled = true;
  const started = performance.now();
  const tick = setInterval(() => {
    $("status").textContent = "Composing and rendering… " + ((performance.now() - started) / 1000).toFixed(1) + " s";
  }, 100);
  try {
    const response = await fetch("/api/generate", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(requestBody()),
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const message = payload && payload.error ? payload.error.message : "HTTP " + response.status;
      throw new Error("Could not generate: " + message);
    }
    showResult(payload);
    $("status").textContent = "Done.";
  } catch (err) {
    $("status").textContent = "";
    showError(err.message);
  } finally {
    clearInterval(tick);
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("generate-form").addEventListener("submit", generate);
  loadStyles();
});
