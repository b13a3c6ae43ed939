// The playground page: one WebSocket to the server (commands out, frames in), the controls,
// and the views (map.js, net.js, charts.js, glass.js) drawing the newest frame.
import { clear, el, sizeText, state, t, translate } from "./util.js";
import { deflate, inflate } from "./share.js";
import * as map from "./map.js";
import * as net from "./net.js";
import * as charts from "./charts.js";
import * as glass from "./glass.js";

const $ = (id) => document.getElementById(id);
let socket = null;
let catalog = null;
let data = null;
let lastFrame = null;
let pendingState = null;
window.playground = { frames: 0, files: [], errors: [], lastFrame: null, lastStep: null, data: null };

function send(msg) {
  socket.send(JSON.stringify(msg));
}

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(state.token)}`);
  socket.addEventListener("message", (ev) => receive(JSON.parse(ev.data)));
  socket.addEventListener("close", () => showError(t("pg_disconnected")));
}

const HANDLERS = {
  catalog(f) { catalog = f; fillCatalog(); },
  data(f) { onData(f); },
  frame(f) { onFrame(f); },
  step(f) { window.playground.lastStep = f; glass.setStep(f); },
  // (window.playground: what the browser tests read)
  file(f) { onFile(f); },
  error(f) { showError(f.message); },
};

function receive(frame) {
  HANDLERS[frame.type]?.(frame);
}

function showError(message) {
  window.playground.errors.push(message);
  $("errors").textContent = `${t("pg_error")}: ${message}`;
}

// -- the controls ------------------------------------------------------------------------------
function options(select, values, labels = values) {
  clear(select);
  values.forEach((v, i) => select.append(el("option", { value: v }, labels[i])));
}

function fillCatalog() {
  options($("data"), catalog.data, catalog.data.map((name) => t(`pg_data_${name}`)));
  options($("solver"), Object.keys(catalog.solvers));
  options($("output_activation"), ["", ...catalog.output_activations], [t("pg_auto"), ...catalog.output_activations]);
  options($("loss"), ["", ...catalog.losses], [t("pg_auto"), ...catalog.losses]);
}

function layerRow(n, act, l) {
  const row = el("div", { class: "layer" });
  row.append(el("span", {}, t("pg_hidden_layer", { l: l + 1 }) + " "));
  const size = el("input", { type: "number", min: 1, max: catalog.max_neurons, value: n, class: "neurons" });
  const select = el("select", { class: "act" });
  options(select, catalog.hidden_activations);
  select.value = act;
  const remove = el("button", { type: "button" }, t("pg_remove"));
  remove.addEventListener("click", () => { row.remove(); configure(); });
  size.addEventListener("change", configure);
  select.addEventListener("change", configure);
  row.append(size, " ", select, " ", remove);
  return row;
}

function solverParams(solver, values) {
  const box = $("solver-params");
  clear(box);
  for (const [name, dflt] of Object.entries(catalog.solvers[solver] ?? {})) {
    const label = el("label", {}, name + " ");
    const input = el("input", { "data-param": name, "data-kind": typeof dflt });
    if (typeof dflt === "number") { input.type = "number"; input.step = "any"; }
    input.value = values?.[name] ?? dflt;
    input.addEventListener("change", configure);
    label.append(input);
    box.append(label);
  }
}

function settingsFromControls() {
  const hidden = [...document.querySelectorAll("#layers .neurons")].map((e) => Number(e.value));
  const activations = [...document.querySelectorAll("#layers .act")].map((e) => e.value);
  const params = {};
  for (const input of document.querySelectorAll("#solver-params input")) {
    const dflt = catalog.solvers[$("solver").value][input.dataset.param];
    if (String(dflt) !== input.value)
      params[input.dataset.param] = input.dataset.kind === "number" ? Number(input.value) : input.value;
  }
  const mode = $("mode").value;
  const axes = $("map-axes").value;
  return {
    data: $("data").value, noise: Number($("noise").value), n_samples: Number($("n_samples").value),
    test_fraction: Number($("test_fraction").value),
    target: $("data").value === "csv" ? $("target").value || null : null,
    map_axes: axes === "" ? null : axes.split(",").map(Number),
    hidden, activations,
    output_activation: $("output_activation").value || null, loss: $("loss").value || null,
    solver: $("solver").value, learning_rate: Number($("learning_rate").value), solver_params: params,
    batch_size: mode === "online" ? 1 : mode === "full" ? "all" : Number($("batch-k").value),
    weight_decay: Number($("weight_decay").value), seed: Number($("seed").value), init: $("init").value,
  };
}

function configure() {
  send({ cmd: "configure", settings: settingsFromControls() });
}
window.playground.configure = (settings) => send({ cmd: "configure", settings });

function controlsFromSettings(s, d) {
  $("data").value = s.data;
  $("noise").value = s.noise; $("noise-v").textContent = s.noise;
  $("n_samples").value = s.n_samples;
  $("test_fraction").value = s.test_fraction; $("test-v").textContent = s.test_fraction;
  const layers = $("layers");
  clear(layers);
  s.hidden.forEach((n, l) => layers.append(layerRow(n, s.activations[l], l)));
  $("output_activation").value = s.output_activation ?? "";
  $("loss").value = s.loss ?? "";
  $("solver").value = s.solver;
  $("learning_rate").value = s.learning_rate;
  solverParams(s.solver, s.solver_params);
  $("mode").value = s.batch_size === 1 ? "online" : s.batch_size === "all" ? "full" : "mini";
  if (typeof s.batch_size === "number" && s.batch_size > 1) $("batch-k").value = s.batch_size;
  $("weight_decay").value = s.weight_decay;
  $("seed").value = s.seed;
  $("init").value = s.init;
  const target = $("target");
  options(target, d.columns);
  target.value = d.target;
  const axes = $("map-axes");
  const pairs = [];
  for (let i = 0; i < d.inputs.length; i++)
    for (let j = i + 1; j < d.inputs.length && pairs.length < 60; j++) pairs.push([i, j]);
  options(axes, ["", ...pairs.map((p) => p.join(","))], [t("pg_pca"), ...pairs.map(([i, j]) => `${d.inputs[i]} × ${d.inputs[j]}`)]);
  axes.value = s.map_axes ? s.map_axes.join(",") : "";
}

// -- frames ------------------------------------------------------------------------------------
function onData(d) {
  data = d;
  window.playground.data = d;
  $("notes").textContent = d.notes.slice(0, 3).join("\n") + (d.notes.length > 3 ? ` (+${d.notes.length - 3})` : "");
  $("errors").textContent = "";
  controlsFromSettings(d.settings, d);
  map.setData(d);
  net.build(d, (edit) => send({ cmd: "edit", ...edit }));
  glass.clearStep();
  $("step-sample").disabled = $("step-batch").disabled = !d.steps;
  if (pendingState) {
    const s = pendingState;
    pendingState = null;
    send({ cmd: "load_state", state: s });
  }
}

function onFrame(f) {
  lastFrame = f;
  window.playground.frames += 1;
  window.playground.lastFrame = f;
  if (!data) return;
  map.drawMap(f.map);
  net.update(f);
  charts.drawCurves(f.curve, data.task === "classification");
  charts.drawMetrics(f.train, f.test, data.task === "classification");
  charts.drawConfusion(f.confusion, data.outputs);
  if (f.population) glass.setGeneration(f.population);
  status(f);
  if (f.running && window.playground.lastStep) {
    window.playground.lastStep = null;
    glass.clearStep();  // playing moves on from the step the glass box showed
  }
  if (f.error) showError(f.error);
}

function status(f) {
  const s = t("pg_status", { epoch: f.epoch, updates: f.updates });
  $("status").textContent = `${s} · ${t(f.running ? "pg_running" : "pg_paused")}`;
  $("undo").disabled = !f.can_undo;
  $("redo").disabled = !f.can_redo;
  $("undo").title = f.undo_what ? t("pg_undo_what", { what: t(f.undo_what) }) : t("pg_undo_hint");
  $("redo").title = f.redo_what ? t("pg_redo_what", { what: t(f.redo_what) }) : t("pg_undo_hint");
  $("play").disabled = f.running;
}

function onFile(f) {
  window.playground.files.push(f);
  if (f.purpose === "fragment") {
    share(new TextDecoder().decode(bytesOf(f.base64)));
    return;
  }
  download(f);
}

function bytesOf(b64) {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function download(f) {
  const blob = new Blob([bytesOf(f.base64)], { type: f.mime });
  const a = el("a", { href: URL.createObjectURL(blob), download: f.name });
  document.body.append(a);
  a.click();
  a.remove();
}

// The state in the URL fragment, compressed (#z=…: deflate-raw, base64url); a state too big
// for a link (a loaded CSV travels in it) is offered as a JSON file instead.
const MAX_LINK = 32768;
let shareNote = null;
async function share(text) {
  const fragment = `#z=${await deflate(text)}`;
  const tooBig = fragment.length > MAX_LINK;
  if (!tooBig) history.replaceState(null, "", `${location.pathname}${location.search}${fragment}`);
  shareNote = tooBig
    ? ["pg_too_big_for_url", { size: sizeText(fragment.length), limit: sizeText(MAX_LINK) }]
    : ["pg_link_ready", { size: sizeText(fragment.length) }];
  $("share-json").hidden = !tooBig;
  showShareNote();
}

function showShareNote() {
  if (shareNote) $("share-note").textContent = t(...shareNote);
}

// -- wiring ------------------------------------------------------------------------------------
function readFile(input, limit, then) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  if (file.size > limit) {
    showError(t("pg_file_too_big", { name: file.name, size: sizeText(file.size), limit: sizeText(limit) }));
    return;
  }
  file.text().then((text) => then(file.name, text));
}

function wire() {
  for (const id of ["data", "n_samples", "output_activation", "loss", "learning_rate", "mode",
    "batch-k", "weight_decay", "seed", "init", "target", "map-axes"])
    $(id).addEventListener("change", configure);
  $("solver").addEventListener("change", () => { solverParams($("solver").value, {}); configure(); });
  $("noise").addEventListener("change", configure);
  $("test_fraction").addEventListener("change", configure);
  $("add-layer").addEventListener("click", () => {
    $("layers").append(layerRow(4, catalog.hidden_activations.includes("tanh") ? "tanh" : catalog.hidden_activations[0], document.querySelectorAll("#layers .layer").length));
    configure();
  });
  const commands = { play: "play", pause: "pause", reset: "reset", undo: "undo", redo: "redo" };
  for (const [id, cmd] of Object.entries(commands)) $(id).addEventListener("click", () => send({ cmd }));
  for (const unit of ["sample", "batch", "epoch"])
    $(`step-${unit}`).addEventListener("click", () => send({ cmd: "step", unit }));
  const exports = { "save-state": "state", "export-model": "model", "export-network": "network",
    "export-step": "step_page", "export-script": "script" };
  for (const [id, kind] of Object.entries(exports))
    $(id).addEventListener("click", () => send({ cmd: "export", kind, lang: state.lang }));
  $("share").addEventListener("click", () => send({ cmd: "export", kind: "state", purpose: "fragment" }));
  $("share-json").addEventListener("click", () => send({ cmd: "export", kind: "state", lang: state.lang }));
  const limits = state.limits;
  $("csv-file").addEventListener("change", () => readFile($("csv-file"), limits.csv_bytes, (name, text) => send({ cmd: "load_csv", name, text })));
  $("load-state").addEventListener("change", () => readFile($("load-state"), limits.message_bytes, (name, text) => {
    try { send({ cmd: "load_state", state: JSON.parse(text) }); } catch (e) { showError(`${name}: ${e.message}`); }
  }));
  for (const lang of ["en", "es"]) $(`lang-${lang}`).addEventListener("click", () => setLanguage(lang));
  net.wireEditBox();
  glass.wire();
}

function setLanguage(lang) {
  state.lang = lang;
  translate();
  if (catalog) fillCatalog();
  if (data) { controlsFromSettings(data.settings, data); map.setData(data); }
  if (lastFrame) onFrame(lastFrame);
  glass.render();
  showShareNote();
}

// The state a link carries: #z=… (compressed) or, from older links, #state=… (plain JSON).
async function fromFragment() {
  const z = location.hash.match(/^#z=([A-Za-z0-9_-]*)$/);
  const plain = location.hash.match(/^#state=(.*)$/);
  try {
    if (z) pendingState = JSON.parse(await inflate(z[1]));
    else if (plain) pendingState = JSON.parse(decodeURIComponent(plain[1]));
  } catch (e) {
    showError(`${t("pg_load_state")}: ${e.message}`);
  }
}

translate();
wire();
fromFragment().finally(connect);
