// The network: edges coloured by the sign of the weight and sized by its magnitude, a small
// map inside every hidden neuron, the numbers on hover, and a click to type a new weight or
// bias. Ids are the step-through page's: neuron j of column c is n{c}-{j}, the edge from
// input i into it e{c}-{j}-{i} (c = 0 for the inputs, layer l is column l + 1).
import { clear, num, svg, t } from "./util.js";
import { neuronImage } from "./map.js";

const COL = 170;
let layout = null;
let weights = null;
let onEdit = null;
let stepTips = {};

export function build(data, editHandler) {
  onEdit = editHandler;
  const sizes = data.sizes;
  const tallest = Math.max(...sizes);
  const gap = tallest <= 8 ? 56 : Math.max(9, 480 / tallest);
  const height = 40 + gap * tallest;
  const width = 80 + COL * (sizes.length - 1);
  const r = Math.min(18, gap * 0.4);
  const xy = (c, j) => [40 + COL * c, height / 2 + (j - (sizes[c] - 1) / 2) * gap];
  const root = document.getElementById("net");
  clear(root);
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.setAttribute("width", width);
  root.setAttribute("height", height);
  const defs = svg("defs");
  root.append(defs);
  for (let c = 1; c < sizes.length; c++)
    for (let j = 0; j < sizes[c]; j++)
      for (let i = 0; i < sizes[c - 1]; i++) {
        const [x1, y1] = xy(c - 1, i), [x2, y2] = xy(c, j);
        const e = svg("line", { id: `e${c}-${j}-${i}`, class: "edge pos", x1, y1, x2, y2 });
        e.addEventListener("click", () => editParam(c - 1, "w", j, i));
        hover(e, () => edgeTip(c, j, i));
        root.append(e);
      }
  sizes.forEach((n, c) => {
    for (let j = 0; j < n; j++) root.append(node(data, c, j, xy(c, j), r, defs, sizes.length - 1));
  });
  layout = { sizes, r };
}

function node(data, c, j, [x, y], r, defs, last) {
  const g = svg("g", { id: `n${c}-${j}`, class: "node" });
  const clip = svg("clipPath", { id: `clip${c}-${j}` });
  clip.append(svg("circle", { cx: x, cy: y, r }));
  defs.append(clip);
  g.append(svg("circle", { cx: x, cy: y, r }));
  if (c > 0 && c < last) {
    const img = svg("image", { class: "nmap", x: x - r, y: y - r, width: 2 * r, height: 2 * r,
      "clip-path": `url(#clip${c}-${j})`, preserveAspectRatio: "none" });
    g.append(img);
  }
  const name = c === 0 ? data.inputs[j] : c === last ? `o[${data.outputs[j]}]` : `h${c}.${j + 1}`;
  const shown = name.length > 14 ? name.slice(0, 13) + "…" : name;
  const label = svg("text", { class: "name", x, y: y - r - 3 }, shown);
  label.append(svg("title", {}, name));
  g.append(label);
  g.append(svg("text", { class: "val", x, y: y + 4 }));
  g.append(svg("text", { class: "dlt", x, y: y + r + 11 }));
  if (c > 0) {
    g.addEventListener("click", () => editParam(c - 1, "b", j, 0));
    hover(g, () => `b${j + 1} = ${num(weights?.[c - 1].b[j])}`, c < last ? g : null);
  }
  return g;
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
    tip.hidden = false;
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

export function showValues(values, tips) {
  stepTips = tips || {};
  if (!layout) return;
  for (const e of document.querySelectorAll("#net .val, #net .dlt")) e.textContent = "";
  if (!values) return;
  values.x.forEach((v, j) => setText(`#n0-${j} .val`, v));
  values.o.forEach((layer, l) => layer.forEach((v, j) => setText(`#n${l + 1}-${j} .val`, v)));
  values.d.forEach((layer, l) => layer.forEach((v, j) => setText(`#n${l + 1}-${j} .dlt`, `δ=${v}`)));
}

function setText(selector, text) {
  const e = document.querySelector(selector);
  if (e) e.textContent = text;
}
