// Helpers shared by the dashboard's panels: fetching JSON, formatting values from the API,
// and keyed DOM updates. Text from the API is only ever set with textContent.

const TIMEOUT_MS = 4000;

export const $ = (id) => document.getElementById(id);

export async function getJSON(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(url, { cache: "no-store", signal: ctl.signal, headers: { Accept: "application/json" } });
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    if (!res.ok) {
      const msg = body && typeof body.error === "string" && body.error
        ? body.error
        : `HTTP ${res.status} ${res.statusText || ""}`.trim();
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    if (body === null || typeof body !== "object") throw new Error("invalid JSON from gateway");
    return body;
  } catch (e) {
    if (e && e.name === "AbortError") throw new Error("request timed out");
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

export function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

export function str(v, dflt = "—") {
  return typeof v === "string" && v !== "" ? v : (typeof v === "number" ? String(v) : dflt);
}

export function num(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export function fmtInt(v) {
  const n = num(v);
  return n === null ? "—" : String(Math.round(n));
}

export function fmtDuration(sec) {
  const s = num(sec);
  if (s === null) return "—";
  if (s < 60) return `${s.toFixed(1)} s`;
  const t = Math.floor(s);
  const d = Math.floor(t / 86400), h = Math.floor((t % 86400) / 3600);
  const m = Math.floor((t % 3600) / 60), ss = t % 60;
  const p2 = (x) => String(x).padStart(2, "0");
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${p2(m)}m`;
  return `${m}m ${p2(ss)}s`;
}

export function fmtAgo(ms) {
  const n = num(ms);
  if (n === null || n < 0) return "—";
  if (n < 1000) return `${Math.round(n)} ms ago`;
  return `${fmtDuration(n / 1000)} ago`;
}

export function setBadge(node, value, allowed) {
  setText(node, value);
  setClass(node, "badge " + (allowed.has(value) ? "b-" + value : "b-unknown"));
}

export function setClass(node, cls) {
  if (node.className !== cls) node.className = cls;
}

export function strList(v) {
  return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
}

export function byAddress(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

// Keyed reconciliation: reuse child elements by key so rows stay stable between polls.
const keyedMaps = new WeakMap();
export function syncKeyed(parent, items, keyOf, create, update) {
  const old = keyedMaps.get(parent) || new Map();
  const next = new Map();
  items.forEach((item) => {
    const k = keyOf(item);
    if (next.has(k)) return; // ignore duplicate keys
    let node = old.get(k);
    if (!node) node = create(k);
    update(node, item);
    next.set(k, node);
    const at = parent.children[next.size - 1];
    if (at !== node) parent.insertBefore(node, at || null);
  });
  for (const [k, node] of old) if (!next.has(k)) node.remove();
  keyedMaps.set(parent, next);
}

// Repeat fn every `ms` after it finishes (never overlapping), forever.
export function poll(fn, ms) {
  const tick = async () => {
    try { await fn(); } catch (e) { console.warn(e); }
    setTimeout(tick, ms);
  };
  tick();
}
