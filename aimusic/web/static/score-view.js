// Each library row gets a menu of every file of the track (every audio format, MIDI, score JSON,
// stems) and, on request, its waveform and a piano roll drawn from score.json, with a playhead
// that follows the row's player. Uses app.js's api(), state and tracks (classic scripts share
// their top-level bindings).
"use strict";

const FILE_CHOICES = [
  ["wav", "WAV (16-bit)"], ["flac", "FLAC (lossless)"], ["mp3", "MP3 (320 kbps)"], ["ogg", "Ogg Vorbis"],
  ["midi", "MIDI"], ["score", "Score (JSON)"], ["stems", "Stems (zip of WAVs)"],
];
const PART_COLOURS = ["#2f6fdb", "#d9480f", "#2b8a3e", "#9c36b5", "#e8590c", "#0c8599", "#c2255c", "#5f3dc4"];
const ROLL_HEIGHT = 180;
const WAVE_HEIGHT = 60;

function fileUrl(track, kind) {
  const links = track.links || {};
  return ["wav", "flac", "mp3", "ogg"].includes(kind) ? links.audio[kind] : links[kind];
}

function fileName(track, kind) {
  const ext = { midi: "mid", score: "json", stems: "zip" }[kind] || kind;
  const suffix = { score: "_score", stems: "_stems" }[kind] || "";
  return `${track.style}_${track.id}${suffix}.${ext}`;
}

// With keys on a link cannot send the key: the first click fetches the file with it, then the
// link points at the fetched copy and is followed.
async function downloadFile(event) {
  const link = event.currentTarget;
  if (state.auth !== "keys" || link.href.startsWith("blob:")) return;
  event.preventDefault();
  try {
    const response = await api(link.dataset.url, { headers: { Accept: "*/*" } });
    link.href = URL.createObjectURL(await response.blob());
  } catch (err) {
    return showError("Could not download the file: " + err.message);
  }
  link.click();
}

function fileMenu(track) {
  const menu = document.createElement("details");
  menu.className = "track-files";
  const summary = document.createElement("summary");
  summary.textContent = "All files";
  menu.append(summary);
  const list = document.createElement("ul");
  for (const [kind, label] of FILE_CHOICES) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = link.dataset.url = fileUrl(track, kind);
    link.dataset.kind = kind;
    link.setAttribute("download", fileName(track, kind));
    link.textContent = label;
    link.addEventListener("click", downloadFile);
    item.append(link);
    list.append(item);
  }
  menu.append(list);
  return menu;
}

// --- drawing -----------------------------------------------------------------------------------

function drawRoll(canvas, score) {
  const ctx = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height;
  ctx.clearRect(0, 0, width, height);
  const duration = Math.max(score.duration_s, 1e-3);
  const pitched = score.parts.filter((p) => p.role !== "drums").flatMap((p) => p.notes.map((n) => n.pitch));
  const low = Math.min(...pitched, 127) - 1, high = Math.max(...pitched, 0) + 1;
  const drumBand = score.parts.some((p) => p.role === "drums") ? 24 : 0;
  const rows = Math.max(high - low, 1);
  const rowHeight = (height - drumBand) / rows;
  let drawn = 0;
  score.parts.forEach((part, index) => {
    ctx.fillStyle = PART_COLOURS[index % PART_COLOURS.length];
    for (const note of part.notes) {
      const x = (note.start_s / duration) * width;
      const w = Math.max(((note.end_s - note.start_s) / duration) * width, 1);
      const y = part.role === "drums"
        ? height - drumBand + ((note.pitch - 35) % 12) * (drumBand / 12)
        : height - drumBand - (note.pitch - low) * rowHeight;
      ctx.fillRect(x, y, w, Math.max(part.role === "drums" ? drumBand / 12 : rowHeight, 1));
      drawn += 1;
    }
  });
  ctx.strokeStyle = "#555";
  ctx.fillStyle = "#222";
  ctx.font = "11px sans-serif";
  for (const section of score.sections) {
    const x = Math.round((section.start_s / duration) * width) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, height);
    ctx.stroke();
    ctx.fillText(section.name, x + 3, 12);
  }
  canvas.dataset.notes = String(drawn);
  canvas.dataset.sections = String(score.sections.length);
  canvas.dataset.parts = score.parts.map((p) => p.name).join(" ");
}

function drawWave(canvas, buffer) {
  const ctx = canvas.getContext("2d");
  const width = canvas.width, height = canvas.height, mid = height / 2;
  const data = buffer.getChannelData(0);
  const step = Math.max(Math.floor(data.length / width), 1);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#7a8699";
  for (let x = 0; x < width; x++) {
    let lo = 0, hi = 0;
    for (let i = x * step; i < Math.min((x + 1) * step, data.length); i++) {
      if (data[i] < lo) lo = data[i];
      if (data[i] > hi) hi = data[i];
    }
    ctx.fillRect(x, mid - hi * mid, 1, Math.max((hi - lo) * mid, 1));
  }
  canvas.dataset.drawn = "true";
}

function followPlayer(player, playhead, width, duration) {
  let frame = 0;
  const place = () => {
    const t = player.currentTime || 0;
    playhead.style.transform = `translateX(${Math.min(t / duration, 1) * width}px)`;
    playhead.dataset.time = t.toFixed(3);
  };
  const loop = () => { place(); frame = player.paused ? 0 : requestAnimationFrame(loop); };
  player.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(loop); });
  player.addEventListener("seeked", place);
  player.addEventListener("timeupdate", place);
  place();
}

async function showScore(track, row, button) {
  button.disabled = true;
  button.textContent = "Loading…";
  const view = document.createElement("div");
  view.className = "score-view";
  const width = Math.max(row.clientWidth - 8, 300);
  const wave = document.createElement("canvas");
  wave.className = "track-wave";
  wave.width = width;
  wave.height = WAVE_HEIGHT;
  wave.setAttribute("aria-label", "Waveform");
  const roll = document.createElement("canvas");
  roll.className = "track-roll";
  roll.width = width;
  roll.height = ROLL_HEIGHT;
  roll.setAttribute("role", "img");
  const playhead = document.createElement("div");
  playhead.className = "playhead";
  view.append(wave, roll, playhead);
  try {
    const score = await (await api(track.links.score)).json();
    roll.setAttribute("aria-label", `Piano roll: ${score.parts.length} parts, ${score.notes} notes`);
    row.append(view);
    drawRoll(roll, score);
    followPlayer(row.querySelector(".track-player"), playhead, width, score.duration_s);
    button.hidden = true;
    // The WAV itself, through api() (with the key when keys are on: the page's CSP lets it
    // connect to its own origin only, not read the player's blob: copy back).
    const audio = await (await api(track.links.audio.wav, { headers: { Accept: "audio/wav" } })).arrayBuffer();
    const context = new OfflineAudioContext(1, 1, 44100);
    drawWave(wave, await context.decodeAudioData(audio));
  } catch (err) {
    button.disabled = false;
    button.textContent = "Show score";
    if (err.status === 401) return keyRejected(err.message);
    return showError("Could not show the score: " + err.message);
  }
}

function decorate(row) {
  const track = tracks.get(row.dataset.id);
  if (!track || row.querySelector(".track-files")) return;
  const actions = row.querySelector(".track-actions");
  actions.append(fileMenu(track));
  const show = document.createElement("button");
  show.type = "button";
  show.className = "track-score secondary";
  show.textContent = "Show score";
  show.addEventListener("click", () => showScore(track, row, show));
  actions.append(show);
}

new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (node.nodeType === 1 && node.matches("li.track")) decorate(node);
    }
  }
}).observe(document.getElementById("tracks"), { childList: true });
document.querySelectorAll("#tracks > li.track").forEach(decorate);
