// The musical controls of the form: time signature, energy, one instrument per part of the
// style (from GET /api/styles), and a MIDI file whose melody the track continues (primer).
// A control adds its field to the request only once the user has set it, so an untouched form
// sends what it always sent. The API's errors are shown next to the control they name.
// Uses app.js's $, state and showError (classic scripts share their top-level bindings).
"use strict";

const PRIMER_MAX_BYTES = 32 * 1024;  // the API's limit for the decoded file
const primerFile = { base64: "", error: "", chosen: 0, reading: Promise.resolve() };

const partLabel = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const energyText = (value) => Number(value).toFixed(2);

// --- filling the controls from the style -----------------------------------------------------------

// Called by app.js whenever the style changes: the meters and the parts are the new style's.
function fillControls(style) {
  const meter = $("time_signature");
  meter.replaceChildren(...style.time_signatures.map((name, i) => {
    const option = new Option(i === 0 ? name + " (usual)" : name, name);
    return option;
  }));
  meter.value = style.time_signatures[0];

  state.styleEnergy = style.energy;
  if (!$("energy-set").checked) showEnergyAuto();

  // One select per part; a choice the new style's part also offers is kept.
  const kept = Object.fromEntries([...document.querySelectorAll("#instrument-parts select")]
    .filter((s) => s.value).map((s) => [s.dataset.part, s.value]));
  const rows = style.parts.map((part) => {
    const id = "instrument-" + part.name;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = partLabel(part.name);
    const select = document.createElement("select");
    select.id = id;
    select.name = "instruments." + part.name;
    select.dataset.part = part.name;
    select.append(new Option("auto", ""), ...part.instruments.map((name) => new Option(name, name)));
    if (part.instruments.includes(kept[part.name])) select.value = kept[part.name];
    const row = document.createElement("div");
    row.className = "part";
    row.append(label, select);
    return row;
  });
  $("instrument-parts").replaceChildren(...rows);
  $("instruments").hidden = rows.length === 0;
}

// --- energy: unset (auto) until moved or "Set energy" is checked -----------------------------------

function showEnergyAuto() {
  const usual = state.styleEnergy;
  if (usual !== undefined && usual !== null) $("energy").value = usual;
  const text = usual === undefined || usual === null ? "auto" : "auto (the style's " + energyText(usual) + ")";
  $("energy-value").textContent = text;
  $("energy").setAttribute("aria-valuetext", text);
}

function showEnergySet() {
  const text = energyText($("energy").value);
  $("energy-value").textContent = text;
  $("energy").setAttribute("aria-valuetext", text);
}

function energyMoved() {
  $("energy-set").checked = true;
  showEnergySet();
}

function energyToggled() {
  if ($("energy-set").checked) showEnergySet();
  else showEnergyAuto();
}

// --- the primer: read in the browser, refused here when too large ------------------------------------

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error || new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
}

function primerChosen() {
  const input = $("primer");
  const file = input.files && input.files[0];
  const chosen = (primerFile.chosen += 1);  // a read that finishes after another choice is dropped
  Object.assign(primerFile, { base64: "", error: "", reading: Promise.resolve() });
  showFieldMessages([]);
  $("primer-clear").hidden = !file;
  if (!file) return;
  if (file.size > PRIMER_MAX_BYTES) {
    primerFile.error = `(${file.name}) is ${(file.size / 1024).toFixed(1)} KiB, over the 32 KiB it may have.`;
    showFieldMessages([{ field: "primer.midi", message: primerFile.error }]);
    return;
  }
  primerFile.reading = fileBase64(file).then(
    (base64) => { if (primerFile.chosen === chosen) primerFile.base64 = base64; },
    (err) => { if (primerFile.chosen === chosen) primerFile.error = `(${file.name}) could not be read: ${err.message}`; });
}

function primerCleared() {
  $("primer").value = "";
  primerChosen();
  $("primer").focus();
}

// Before a request is sent: the primer has been read, and is not one refused here. A refused
// file is named next to its control and in the error line; no request is made.
async function controlsReady() {
  await primerFile.reading;
  if (!primerFile.error) return true;
  showFieldMessages([{ field: "primer.midi", message: primerFile.error }]);
  showError("Could not generate: the MIDI file " + primerFile.error);
  $("primer").focus();
  return false;
}

// --- the request ---------------------------------------------------------------------------------

// Adds to a request body the fields the user set (called by app.js's requestBody).
function addControls(body) {
  const meter = $("time_signature");
  if (meter.selectedIndex > 0) body.time_signature = meter.value;
  if ($("energy-set").checked) body.energy = Math.round(Number($("energy").value) * 100) / 100;
  const instruments = {};
  for (const select of document.querySelectorAll("#instrument-parts select")) {
    if (select.value) instruments[select.dataset.part] = select.value;
  }
  if (Object.keys(instruments).length) body.instruments = instruments;
  if (primerFile.base64) body.primer = { midi: primerFile.base64 };
  return body;
}

// --- the API's errors, next to their controls ----------------------------------------------------------

// Each detail's message goes right after the control it names ("instruments.melody",
// "primer.midi", a batch's "requests[0].energy"), which is also described by it.
function showFieldMessages(details) {
  const form = $("generate-form");
  for (const old of form.querySelectorAll(".field-error")) {
    const control = form.querySelector(`[aria-describedby~="${old.id}"]`);
    if (control) {
      const rest = control.getAttribute("aria-describedby").split(" ").filter((t) => t !== old.id);
      if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
      else control.removeAttribute("aria-describedby");
    }
    old.remove();
  }
  for (const detail of details || []) {
    const field = String(detail.field).replace(/^requests\[\d+\]\./, "");
    const control = controlFor(field);
    if (!control || !detail.message) continue;
    const id = control.id + "-error";
    let note = document.getElementById(id);
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "field-error error";
      note.dataset.for = field;
      (control.closest(".inline, .part") || control).insertAdjacentElement("afterend", note);
      const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      control.setAttribute("aria-describedby", [...described, id].join(" "));
    }
    note.textContent = (note.textContent ? note.textContent + " " : "") + controlName(field) + " " + detail.message;
    control.setAttribute("aria-invalid", "true");
  }
}

// The control of a field the API named: "instruments" alone (an unknown part) is the fieldset's
// first select, "primer" alone the file input.
function controlFor(field) {
  const form = $("generate-form");
  const named = form.elements.namedItem(field);
  if (named && named.id) return named;
  if (field.startsWith("instruments")) return document.querySelector("#instrument-parts select");
  if (field.startsWith("primer")) return $("primer");
  return null;
}

function controlName(field) {
  if (field.startsWith("instruments.")) return partLabel(field.slice("instruments.".length));
  if (field.startsWith("primer")) return "The MIDI file";
  return partLabel(field.replace(/_/g, " "));
}

$("energy").addEventListener("input", energyMoved);
$("energy-set").addEventListener("change", energyToggled);
$("primer").addEventListener("change", primerChosen);
$("primer-clear").addEventListener("click", primerCleared);
