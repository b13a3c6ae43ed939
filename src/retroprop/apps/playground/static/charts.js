// The curves (loss, and accuracy or R², on the training and test rows, per epoch), the
// current measurements with the lecture's MSE, and the confusion matrix.
import { clear, el, num, svg, t } from "./util.js";

function plot(id, xs, series, fixed) {
  const root = document.getElementById(id);
  clear(root);
  const [W, H] = root.getAttribute("viewBox").split(" ").slice(2).map(Number);
  const values = series.flatMap((s) => s.ys).filter((v) => v !== null && isFinite(v));
  if (!xs.length || !values.length) return;
  let [lo, hi] = fixed ?? [Math.min(...values), Math.max(...values)];
  if (hi === lo) hi = lo + 1;
  const x0 = xs[0], x1 = xs[xs.length - 1] === x0 ? x0 + 1 : xs[xs.length - 1];
  const px = (x) => 40 + ((x - x0) / (x1 - x0)) * (W - 50);
  const py = (y) => H - 16 - ((y - lo) / (hi - lo)) * (H - 26);
  root.append(svg("text", { class: "axis", x: 2, y: 12 }, num(hi)));
  root.append(svg("text", { class: "axis", x: 2, y: H - 16 }, num(lo)));
  root.append(svg("text", { class: "axis", x: W - 60, y: H - 2 }, `${t("report_epoch")} ${x1}`));
  for (const s of series) {
    const pts = xs.map((x, i) => [x, s.ys[i]]).filter(([, y]) => y !== null && isFinite(y));
    if (!pts.length) continue;
    const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    const line = svg("polyline", { class: `curve ${s.cls}`, points: d });
    line.append(svg("title", {}, s.name));
    root.append(line);
  }
}

export function drawCurves(curve, classify) {
  document.getElementById("curves-title").textContent = t(classify ? "pg_curves" : "pg_curves_r2");
  const xs = curve.epoch;
  plot("curves", xs, [
    { ys: curve.loss, cls: "train", name: `${t("pg_loss_value")} · ${t("pg_train")}` },
    { ys: curve.val_loss, cls: "test", name: `${t("pg_loss_value")} · ${t("pg_test")}` },
  ]);
  const key = classify ? "accuracy" : "r2";
  plot("curves2", xs, [
    { ys: curve[key], cls: "train", name: `${t(classify ? "pg_accuracy" : "pg_r2")} · ${t("pg_train")}` },
    { ys: curve[`val_${key}`], cls: "test", name: `${t(classify ? "pg_accuracy" : "pg_r2")} · ${t("pg_test")}` },
  ], classify ? [0, 1] : null);
}

export function drawMetrics(train, test, classify) {
  const table = document.getElementById("metrics");
  clear(table);
  const head = el("tr");
  for (const h of [t("pg_metric"), t("pg_train"), t("pg_test")]) head.append(el("th", {}, h));
  table.append(head);
  const rows = [["loss", "pg_loss_value"], ["mse", "pg_mse"], classify ? ["accuracy", "pg_accuracy"] : ["r2", "pg_r2"]];
  for (const [key, label] of rows) {
    const tr = el("tr", { id: `metric-${key}` });
    tr.append(el("th", {}, t(label)), el("td", {}, num(train[key])), el("td", {}, num(test[key])));
    table.append(tr);
  }
}

export function drawConfusion(confusion, outputs) {
  const table = document.getElementById("confusion");
  clear(table);
  if (!confusion) return;
  for (const [part, M] of [["pg_train", confusion.train], ["pg_test", confusion.test]]) {
    if (!M.length) continue;
    const head = el("tr");
    head.append(el("th", {}, t(part)));
    for (const name of outputs) head.append(el("th", {}, name));
    table.append(head);
    M.forEach((row, k) => {
      const tr = el("tr");
      tr.append(el("th", {}, outputs[k]));
      for (const n of row) tr.append(el("td", {}, String(n)));
      table.append(tr);
    });
  }
}
