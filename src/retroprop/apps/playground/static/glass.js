// The glass box: the last traced step, walked through moment by moment as on the step-through
// page (same moments, same highlighted ids), and for a batch the per-sample gradients whose
// mean the step applied.
import { clear, el, num, state, svg, t } from "./util.js";
import { highlight, showValues } from "./net.js";

let walk = null;
let k = 0;
let perSample = null;

export function setStep(frame) {
  walk = frame.walk;
  perSample = frame.per_sample;
  k = 0;
  document.getElementById("glass-hint").hidden = true;
  document.getElementById("walk").hidden = false;
  showValues(walk.values[0], walk.edges[0], frame.trace);
  render();
}

export function clearStep() {
  walk = null;
  shownGeneration = null;
  document.getElementById("glass-hint").hidden = false;
  document.getElementById("walk").hidden = true;
  highlight([], []);
  showValues(null, null);
}

export function render() {
  if (!walk) return;
  const m = walk.moments[k];
  document.getElementById("moment-title").textContent = m.title[state.lang];
  const lines = document.getElementById("lines");
  clear(lines);
  for (const line of m.lines[state.lang]) lines.append(el("div", { class: "eq" }, line));
  document.getElementById("counter").textContent = `${k + 1} / ${walk.moments.length}`;
  document.getElementById("prev").disabled = k === 0;
  document.getElementById("next").disabled = k === walk.moments.length - 1;
  highlight(m.nodes, m.edges);
  renderPerSample();
}

function renderPerSample() {
  const box = document.getElementById("per-sample");
  clear(box);
  if (!perSample) return;
  perSample.forEach((layer, l) => {
    box.append(el("p", {}, t("pg_per_sample", { l: l + 1 })));
    const table = el("table");
    const rows = layer.grad_weights.map((g) => g.flat().slice(0, 8));
    const mean = rows[0].map((_, c) => rows.reduce((s, r) => s + r[c], 0) / rows.length);
    rows.forEach((r, n) => table.append(row(`${t("sample")} ${n + 1}`, r)));
    table.append(row(t("pg_mean"), mean));
    box.append(table);
  });
}

function row(label, values) {
  const tr = el("tr");
  tr.append(el("th", {}, label));
  for (const v of values) tr.append(el("td", {}, num(v)));
  return tr;
}

export function wire() {
  document.getElementById("prev").addEventListener("click", () => { if (k > 0) { k--; render(); } });
  document.getElementById("next").addEventListener("click", () => {
    if (walk && k < walk.moments.length - 1) { k++; render(); }
  });
}

// A generation of the genetic algorithm: the population's errors J as bars, best first (the
// live frame carries the latest generation, stepped or played; drawn again only when it changes).
let shownGeneration = null;

export function setGeneration(pop) {
  const key = `${pop.generation}|${state.lang}`;
  if (key === shownGeneration && !walk) return;
  shownGeneration = key;
  walk = null;
  highlight([], []);
  showValues(null, null);
  document.getElementById("glass-hint").hidden = true;
  document.getElementById("walk").hidden = false;
  const finite = pop.losses.filter((v) => v !== null);
  document.getElementById("moment-title").textContent =
    t("pg_population", { g: pop.generation, n: pop.size, best: num(finite[0] ?? null) });
  document.getElementById("counter").textContent = "";
  document.getElementById("prev").disabled = document.getElementById("next").disabled = true;
  const lines = document.getElementById("lines");
  clear(lines);
  lines.append(populationChart(pop.losses, Math.max(...finite, 0) || 1));
  clear(document.getElementById("per-sample"));
}

function populationChart(losses, top) {
  const W = 600, H = 140, left = 48, bottom = 16, h0 = H - bottom;
  const chart = svg("svg", { id: "population", viewBox: `0 0 ${W} ${H}`, width: W, height: H });
  chart.append(svg("text", { class: "axis", x: 2, y: 10 }, `J ${num(top)}`));
  chart.append(svg("text", { class: "axis", x: 2, y: h0 }, "0"));
  chart.append(svg("text", { class: "axis", x: left, y: H - 2 }, t("pg_population_axis")));
  const w = (W - left) / losses.length;
  losses.forEach((v, i) => {
    const h = v === null ? h0 : (v / top) * (h0 - 4);
    const bar = svg("rect", { class: i === 0 ? "bar best" : "bar", x: left + i * w, y: h0 - h,
      width: Math.max(w - 1, 1), height: h });
    bar.append(svg("title", {}, `J = ${num(v)}`));
    chart.append(bar);
  });
  return chart;
}
