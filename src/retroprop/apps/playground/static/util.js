// Shared helpers: the words of the current language, DOM and SVG builders that only ever set
// text (never HTML: every user string stays text), number formatting and colours.
const boot = JSON.parse(document.getElementById("boot").textContent);
export const state = { lang: boot.lang, token: boot.token, strings: boot.strings, limits: boot.limits };

export function t(key, fields = {}) {
  const template = state.strings[state.lang][key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, k) => String(fields[k] ?? ""));
}

export function el(tag, attrs = {}, text = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, text = null) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function num(v) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

// A size in bytes as people read it: 812 B, 3.4 kB, 8.0 MB (the server's words for sizes).
export function sizeText(n) {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} kB`;
  return `${n} B`;
}

export function bytes(b64) {
  const raw = atob(b64);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export const PALETTE = [
  [42, 111, 219], [228, 87, 46], [46, 160, 67], [155, 89, 182], [241, 196, 15],
  [26, 188, 156], [231, 76, 60], [52, 73, 94], [230, 126, 34], [127, 140, 141],
];

export function colour(k, alpha = 1) {
  const [r, g, b] = PALETTE[k % PALETTE.length];
  return `rgba(${r},${g},${b},${alpha})`;
}

// A diverging blue–white–orange colour for a value in [0, 1] (regression surface, neuron maps).
export function ramp(q) {
  const lo = [228, 87, 46], mid = [250, 250, 250], hi = [42, 111, 219];
  const [a, b, s] = q < 0.5 ? [lo, mid, q * 2] : [mid, hi, (q - 0.5) * 2];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * s));
}

export function translate() {
  document.documentElement.lang = state.lang;
  document.title = t("pg_title");
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
}
