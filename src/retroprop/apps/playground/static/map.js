// The decision map (or regression surface) with the training and test points, and the small
// map drawn inside every hidden neuron.
import { bytes, clear, colour, ramp, svg, t } from "./util.js";

const SIZE = 400;
let data = null;

export function setData(d) {
  data = d;
  drawPoints();
  document.getElementById("axis-s").textContent = d.plane.labels[0];
  document.getElementById("axis-t").textContent = d.plane.labels[1];
  const title = document.getElementById("map-title");
  title.textContent = t(d.task === "classification" ? "pg_decision_map" : "pg_surface");
  const legend = document.getElementById("legend");
  clear(legend);
  legend.append(t("pg_train_points") + "  " + t("pg_test_points") + "  ");
  if (d.task === "classification") {
    d.outputs.forEach((name, k) => {
      const key = document.createElement("span");
      key.style.color = colour(k);
      key.textContent = "■ ";
      legend.append(key, name + "  ");
    });
  }
}

function toPixel(st) {
  const [s0, s1] = data.plane.s, [t0, t1] = data.plane.t;
  return [((st[0] - s0) / (s1 - s0)) * SIZE, (1 - (st[1] - t0) / (t1 - t0)) * SIZE];
}

function pointColour(y) {
  if (data.task === "classification") return colour(y);
  const [lo, hi] = data.y_range;
  const [r, g, b] = ramp((y - lo) / (hi - lo || 1));
  return `rgb(${r},${g},${b})`;
}

function drawPoints() {
  const layer = document.getElementById("points");
  clear(layer);
  for (const [set, cls] of [[data.train, "pt train"], [data.test, "pt test"]]) {
    set.st.forEach((st, n) => {
      const [x, y] = toPixel(st);
      const attrs = { class: cls, fill: pointColour(set.y[n]) };
      const shape = cls.endsWith("test")
        ? svg("rect", { ...attrs, x: x - 3.5, y: y - 3.5, width: 7, height: 7, transform: `rotate(45 ${x} ${y})` })
        : svg("circle", { ...attrs, cx: x, cy: y, r: 4 });
      layer.append(shape);
    });
  }
}

export function drawMap(map) {
  const canvas = document.getElementById("map");
  const n = map.n;
  canvas.width = n;
  canvas.height = n;
  canvas.style.width = SIZE + "px";
  canvas.style.height = SIZE + "px";
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  if (map.cls) {
    const cls = bytes(map.cls), conf = bytes(map.conf);
    for (let i = 0; i < n * n; i++) {
      const [r, g, b] = [0, 1, 2].map((c) => colourByte(cls[i], c));
      const a = 0.25 + 0.6 * (conf[i] / 255);
      img.data.set([255 - a * (255 - r), 255 - a * (255 - g), 255 - a * (255 - b), 255], 4 * i);
    }
  } else {
    const v = bytes(map.value);
    for (let i = 0; i < n * n; i++) img.data.set([...ramp(v[i] / 255), 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function colourByte(k, c) {
  return Number(colour(k).match(/\d+/g)[c]);
}

// A neuron's small map as a data URL (an <image> inside its circle in the network drawing).
const small = document.createElement("canvas");
export function neuronImage(encoded, n) {
  small.width = n;
  small.height = n;
  const ctx = small.getContext("2d");
  const img = ctx.createImageData(n, n);
  const v = bytes(encoded);
  for (let i = 0; i < n * n; i++) img.data.set([...ramp(v[i] / 255), 255], 4 * i);
  ctx.putImageData(img, 0, 0);
  return small.toDataURL();
}
