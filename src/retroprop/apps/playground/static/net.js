// The network: edges coloured by the sign of the weight and sized by its magnitude, a small
// map inside every hidden neuron, the numbers on hover, and a click to type a new weight or
// bias. Ids are the step-through page's: neuron j of column c is n{c}-{j}, the edge from
// input i into it e{c}-{j}-{i} (c = 0 for the inputs, layer l is column l + 1).
import { clear, num, svg, t } from "./util.js";
import { neuronImage } from "./map.js";

const MARGIN = 8;
const PAD = 4;          // between a circle and its labels
const MIN_COL = 140;    // the least distance between two columns' centres (room for the edges)
const WIDEST = "−8.88e−888";  // the widest value a neuron shows (3 digits, as steppage's short)
let layout = null;
let weights = null;
let onEdit = null;
let stepTips = {};
let stepNumbers = null;

// The network's picture. Every label has its own room, measured in the page's font: the name
// left of its circle, the value and δ right of it (two lines while the tallest layer has at
// most 16 neurons, one line beyond), so no two labels ever overlap, whatever the layer sizes.
export function build(data, editHandler) {
  onEdit = editHandler;
  const root = document.getElementById("net");
  clear(root);
  const sizes = data.sizes;
  const last = sizes.length - 1;
  const names = sizes.map((n, c) => Array.from({ length: n }, (_, j) => neuronName(data, c, j, last)));
  const g = geometry(root, sizes, names);
  root.setAttribute("viewBox", `0 0 ${g.width} ${g.height}`);
  root.setAttribute("width", g.width);
  root.setAttribute("height", g.height);
  const defs = svg("defs");
  root.append(defs);
  for (let c = 1; c < sizes.length; c++)
    for (let j = 0; j < sizes[c]; j++)
      for (let i = 0; i < sizes[c - 1]; i++) {
        const [x1, y1] = g.xy(c - 1, i), [x2, y2] = g.xy(c, j);
        const e = svg("line", { id: `e${c}-${j}-${i}`, class: "edge pos", x1, y1, x2, y2 });
        e.addEventListener("click", () => editParam(c - 1, "w", j, i));
        hover(e, () => edgeTip(c, j, i));
        root.append(e);
      }
  sizes.forEach((n, c) => {
    for (let j = 0; j < n; j++) root.append(node(names[c][j], c, j, g, defs, last));
  });
  layout = { sizes, g };
}

function neuronName(data, c, j, last) {
  const name = c === 0 ? data.inputs[j] : c === last ? `o[${data.outputs[j]}]` : `h${c}.${j + 1}`;
  return { full: name, shown: name.length > 14 ? name.slice(0, 13) + "…" : name };
}

// Where everything goes: the pitch between neurons from the text's measured height, each
// column's left (names) and right (values, δ) room from the measured widths, and the columns'
// centres one after the other with those rooms between them.
function geometry(root, sizes, names) {
  const probe = measurer(root);
  const font = probe("0");
  const line = Math.ceil(font.height) + 1;
  const tallest = Math.max(...sizes);
  const twoLines = tallest <= 16;
  const pitch = twoLines ? (tallest <= 10 ? 2 * line + 18 : 2 * line + 2) : line + 2;
  const r = twoLines ? (pitch - 10) / 2 : (pitch - 3) / 2;
  const valW = probe(WIDEST).width, dltW = probe(`δ=${WIDEST}`).width;
  const left = names.map((col) => Math.max(0, ...col.map((n) => probe(n.shown).width)));
  const right = sizes.map((_, c) => (c === 0 ? valW : twoLines ? dltW : valW + PAD + dltW));
  probe(null);
  // one-line labels run nearly from column to column: keep a stretch of bare edges between
  const edgeRoom = twoLines ? 2 * PAD : 48;
  const x = [MARGIN + left[0] + PAD + r];
  for (let c = 1; c < sizes.length; c++)
    x.push(x[c - 1] + Math.max(MIN_COL, 2 * (r + PAD) + right[c - 1] + edgeRoom + left[c]));
  const width = Math.ceil(x[x.length - 1] + r + PAD + right[right.length - 1] + MARGIN);
  const height = Math.ceil(2 * MARGIN + pitch * tallest);
  const xy = (c, j) => [x[c], height / 2 + (j - (sizes[c] - 1) / 2) * pitch];
  // baselines: a line of text centred on y starts font.above over its baseline
  const centred = (y) => y - font.height / 2 + font.above;
  return { width, height, r, xy, twoLines, line, centred, valW, dltW };
}

// Text measured in the network's own font: probe(text) gives its width, height and how far the
// box reaches above the baseline; probe(null) removes the probe.
function measurer(root) {
  const probe = svg("text", { class: "probe", x: 0, y: 0 });
  const g = svg("g", { class: "node" });
  g.append(probe);
  root.append(g);
  return (text) => {
    if (text === null) { g.remove(); return null; }
    probe.textContent = text;
    const box = probe.getBBox();
    return { width: box.width, height: box.height, above: -box.y };
  };
}

function node(name, c, j, g, defs, last) {
  const [x, y] = g.xy(c, j);
  const r = g.r;
  const group = svg("g", { id: `n${c}-${j}`, class: "node" });
  const clip = svg("clipPath", { id: `clip${c}-${j}` });
  clip.append(svg("circle", { cx: x, cy: y, r }));
  defs.append(clip);
  group.append(svg("circle", { cx: x, cy: y, r }));
  if (c > 0 && c < last) {
    const img = svg("image", { class: "nmap", x: x - r, y: y - r, width: 2 * r, height: 2 * r,
      "clip-path": `url(#clip${c}-${j})`, preserveAspectRatio: "none" });
    group.append(img);
  }
  const label = svg("text", { class: "name", x: x - r - PAD, y: g.centred(y) }, name.shown);
  label.append(svg("title", {}, name.full));
  group.append(label);
  const right = x + r + PAD;
  if (g.twoLines) {
    group.append(svg("text", { class: "val", x: right, y: g.centred(y - g.line / 2), "data-room": g.valW }));
    group.append(svg("text", { class: "dlt", x: right, y: g.centred(y + g.line / 2), "data-room": g.dltW }));
  } else {
    group.append(svg("text", { class: "val", x: right, y: g.centred(y), "data-room": g.valW }));
    group.append(svg("text", { class: "dlt", x: right + g.valW + PAD, y: g.centred(y), "data-room": g.dltW }));
  }
  hover(group, () => nodeTip(c, j, name), c > 0 && c < last ? group : null);
  if (c > 0) group.addEventListener("click", () => editParam(c - 1, "b", j, 0));
  return group;
}

// A neuron's numbers in full: its bias and, after a traced step, its x or o and δ (and its
// whole name when the drawing shortens it).
function nodeTip(c, j, name) {
  const parts = c > 0 ? [`b${j + 1} = ${num(weights?.[c - 1].b[j])}`] : [];
  if (stepNumbers) {
    if (c === 0) parts.push(`x${j + 1} = ${full(stepNumbers.x[j])}`);
    else parts.push(`o = ${full(stepNumbers.o[c - 1][j])}`, `δ = ${full(stepNumbers.d[c - 1][j])}`);
  }
  if (name.shown !== name.full) parts.push(name.full);
  return parts.join(" · ");
}

function full(v) {
  return v === null || v === undefined ? "–" : String(Number(v.toPrecision(10))).replace(/-/g, "−");
}

function edgeTip(c, j, i) {
  const w = weights?.[c - 1].W[j][i];
  const step = stepTips[`e${c}-${j}-${i}`];
  return step ?? `w${j + 1},${i + 1} = ${num(w)}`;
}

function hover(target, text, neuron = null) {
  const tip = document.getElementById("tip");
  const zoom = document.getElementById("neuron-zoom");
  target.addEventListener("mousemove", (ev) => {
    tip.textContent = text();
    tip.hidden = !tip.textContent;
    tip.style.left = ev.clientX + 12 + "px";
    tip.style.top = ev.clientY + 12 + "px";
    const img = neuron?.querySelector("image");
    if (img?.getAttribute("href")) {
      const ctx = zoom.getContext("2d");
      const pic = new Image();
      pic.onload = () => { ctx.imageSmoothingEnabled = false; ctx.drawImage(pic, 0, 0, 160, 160); };
      pic.src = img.getAttribute("href");
      zoom.hidden = false;
      zoom.style.left = ev.clientX + 12 + "px";
      zoom.style.top = ev.clientY + 36 + "px";
    }
  });
  target.addEventListener("mouseleave", () => { tip.hidden = true; zoom.hidden = true; });
}

function editParam(layer, kind, j, i) {
  const box = document.getElementById("edit-box");
  const name = kind === "w" ? `w${j + 1},${i + 1} (${t("layer", { l: layer + 1 })})`
    : `b${j + 1} (${t("layer", { l: layer + 1 })})`;
  document.getElementById("edit-name").textContent = t("pg_edit_title", { name });
  const input = document.getElementById("edit-value");
  input.value = kind === "w" ? weights[layer].W[j][i] : weights[layer].b[j];
  box.hidden = false;
  box.dataset.target = JSON.stringify({ layer, kind, j, i });
  input.focus();
  input.select();
}

export function wireEditBox() {
  const box = document.getElementById("edit-box");
  box.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = Number(document.getElementById("edit-value").value);
    box.hidden = true;
    onEdit({ ...JSON.parse(box.dataset.target), value });
  });
  document.getElementById("edit-cancel").addEventListener("click", () => { box.hidden = true; });
}

export function update(frame) {
  weights = frame.weights;
  if (!layout) return;
  let wMax = 1e-9;
  for (const ly of weights) for (const row of ly.W) for (const w of row) wMax = Math.max(wMax, Math.abs(w));
  weights.forEach((ly, l) => ly.W.forEach((row, j) => row.forEach((w, i) => {
    const e = document.getElementById(`e${l + 1}-${j}-${i}`);
    if (!e) return;
    e.setAttribute("class", `edge ${w >= 0 ? "pos" : "neg"}${e.classList.contains("hl") ? " hl" : ""}`);
    e.setAttribute("stroke-width", (0.5 + 4.5 * Math.abs(w) / wMax).toFixed(2));
  })));
  frame.neurons.forEach((layer, l) => layer.forEach((nm, j) => {
    const img = document.querySelector(`#n${l + 1}-${j} image`);
    if (img) img.setAttribute("href", neuronImage(nm.map, Math.round(Math.sqrt(atob(nm.map).length))));
  }));
}

// The walk through a step: highlight a moment's neurons and edges, show x / o / δ.
export function highlight(nodes, edges) {
  const root = document.getElementById("net");
  for (const e of root.querySelectorAll(".hl")) e.classList.remove("hl");
  for (const id of [...nodes, ...edges]) document.getElementById(id)?.classList.add("hl");
  root.classList.toggle("walking", nodes.length + edges.length > 0);
}

export function showValues(values, tips, trace = null) {
  stepTips = tips || {};
  stepNumbers = trace ? firstSample(trace) : null;
  if (!layout) return;
  for (const e of document.querySelectorAll("#net .val, #net .dlt")) setText(e, "");
  if (!values) return;
  values.x.forEach((v, j) => setText(document.querySelector(`#n0-${j} .val`), v));
  values.o.forEach((layer, l) => layer.forEach((v, j) => setText(document.querySelector(`#n${l + 1}-${j} .val`), v)));
  values.d.forEach((layer, l) => layer.forEach((v, j) => setText(document.querySelector(`#n${l + 1}-${j} .dlt`), `δ=${v}`)));
}

// The first sample's x, o and δ of a traced step (one vector each; a batch has rows).
function firstSample(trace) {
  const first = (v) => (Array.isArray(v[0]) ? v[0] : v);
  return { x: first(trace.input), o: trace.layers.map((ly) => first(ly.a)),
    d: trace.layers.map((ly) => first(ly.delta)) };
}

// A label's text, squeezed into its room if it is ever wider than the widest value planned.
function setText(e, text) {
  if (!e) return;
  e.textContent = text;
  e.removeAttribute("textLength");
  const room = Number(e.dataset.room);
  if (text && e.getComputedTextLength() > room) {
    e.setAttribute("textLength", room);
    e.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}
