// isla gateway dashboard. Polls the gateway's JSON APIs (same origin).
// All text coming from the API is rendered with textContent only.
import {
  $, el, getJSON, setText, str, num, fmtInt, fmtDuration, fmtAgo, setBadge, strList, syncKeyed, poll,
} from "./util.js";
import { markUnreachable, renderTopology, setRemoteFigures } from "./topology.js";
import { noteGateway, refreshEvents } from "./events.js";
import { renderTasks } from "./tasks.js";
import { refreshBalancers } from "./balancers.js";

const STATUS_MS = 1000;
const FIGURES_MS = 2000;
const MEMBERS_MS = 2000;
const EVENTS_MS = 1000;
const BALANCERS_MS = 1000;

const NODE_STATES = new Set(["serving", "draining", "starting", "stopping"]);
const STORE_ROLES = new Set(["leader", "follower", "candidate", "pre_candidate"]);
const SERVER_STATES = new Set(["alive", "draining", "ejected"]);
const DEPART_REASONS = new Set(["bye", "timeout", "unreachable"]);
const MEMBER_ROLES = new Set(["voter", "learner"]);

// Common LEGO colours (BrickLink/Rebrickable names). Keys are normalised at load.
const LEGO_COLOURS = normaliseKeys({
  "white": "#f4f4f4", "black": "#05131d", "red": "#c91a09", "blue": "#0055bf",
  "yellow": "#f2cd37", "green": "#237841", "bright green": "#4b9f4a",
  "dark green": "#184632", "lime": "#bbe90b", "orange": "#fe8a18",
  "dark orange": "#a95500", "tan": "#e4cd9e", "dark tan": "#958a73",
  "brown": "#583927", "reddish brown": "#582a12", "dark brown": "#352100",
  "light bluish gray": "#a0a5a9", "dark bluish gray": "#6c6e68",
  "light gray": "#9ba19d", "dark gray": "#6d6e5c", "gray": "#9ba19d",
  "medium blue": "#5a93db", "dark blue": "#0a3463", "bright light blue": "#9fc3e9",
  "light blue": "#b4d2e3", "medium azure": "#36aebf", "dark azure": "#078bc9",
  "azure": "#36aebf", "sand blue": "#6074a1", "sand green": "#a0bcac",
  "olive green": "#9b9a5a", "dark red": "#720e0f", "dark pink": "#c870a0",
  "bright pink": "#e4adc8", "pink": "#fc97ac", "coral": "#ff698f",
  "magenta": "#923978", "purple": "#81007b", "dark purple": "#3f3691",
  "medium lavender": "#ac78ba", "lavender": "#e1d5ed",
  "bright light orange": "#f8bb3d", "bright light yellow": "#fff03a",
  "light yellow": "#fbe696", "yellowish green": "#dfeea5",
  "medium nougat": "#aa7d55", "nougat": "#d09168", "light nougat": "#f6d7b3",
  "dark turquoise": "#008f9b", "aqua": "#b3d7d1", "teal": "#008f9b",
  "pearl gold": "#aa7f2e", "gold": "#b4883e", "flat silver": "#898788",
  "silver": "#a0a0a0", "pearl light gray": "#9ca3a8", "metallic silver": "#a5a9b4",
  "clear": "#fcfcfc", "trans clear": "#fcfcfc",
});
const FALLBACK_COLOUR = "#a8a8a8";

function normaliseKeys(obj) {
  const out = new Map();
  for (const [k, v] of Object.entries(obj)) out.set(colourKey(k), v);
  return out;
}

function colourKey(name) {
  return String(name ?? "").toLowerCase().replace(/grey/g, "gray").replace(/[^a-z0-9#]/g, "");
}

function colourFor(name) {
  const raw = String(name ?? "").trim().toLowerCase();
  const hex = raw.match(/^#?([0-9a-f]{6})$/);
  if (hex) return { hex: "#" + hex[1], trans: false, known: true };
  let key = colourKey(raw);
  if (LEGO_COLOURS.has(key)) return { hex: LEGO_COLOURS.get(key), trans: key.startsWith("trans"), known: true };
  let trans = false;
  const m = key.match(/^trans(parent)?(.+)$/);
  if (m) { trans = true; key = m[2]; }
  if (LEGO_COLOURS.has(key)) return { hex: LEGO_COLOURS.get(key), trans, known: true };
  return { hex: FALLBACK_COLOUR, trans, known: false };
}

// ---------- status ----------

let currentIsland = "";
let lastStatus = null;
let statusFailures = 0;
let selected = null;

async function refreshStatus() {
  let s;
  try {
    s = await getJSON("/api/status");
  } catch (e) {
    statusFailures++;
    const b = $("banner");
    b.hidden = false;
    b.dataset.failures = String(statusFailures);
    b.title = `last error: ${e && e.message ? e.message : e}`;
    document.body.classList.add("offline");
    markUnreachable();
    return;
  }
  statusFailures = 0;
  $("banner").hidden = true;
  document.body.classList.remove("offline");
  lastStatus = s;
  renderStatus(s);
  setText($("last-update"), new Date().toLocaleTimeString());
}

function renderStatus(s) {
  currentIsland = str(s.island, "");
  setText($("island-name"), str(s.island));
  document.title = currentIsland ? `isla · ${currentIsland}` : "isla";
  setText($("node-address"), str(s.node));
  setBadge($("node-state"), str(s.state, "unknown"), NODE_STATES);
  setText($("uptime"), fmtDuration(s.uptime_s));
  const r = s.requests || {};
  setText($("requests-total"), fmtInt(r.total));
  setText($("requests-in-flight"), fmtInt(r.in_flight));
  setText($("requests-failed"), fmtInt(r.failed));
  const failed = $("requests-failed");
  failed.classList.toggle("warn", (num(r.failed) || 0) > 0);
  const peers = Array.isArray(s.peers) ? s.peers : [];
  setText($("peers"), String(peers.length));
  $("peers").title = peers.map((p) => (typeof p === "string" ? p : str(p && p.address, "?"))).join(", ");
  setText($("version"), str(s.version));
  renderStore(s.store);
  renderTopology(s);
  renderTasks(s);
  noteGateway(s.node, s.incarnation);

  const servers = (Array.isArray(s.piece_servers) ? s.piece_servers : [])
    .filter((x) => x && typeof x.address === "string")
    .sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }));
  syncKeyed($("servers-table").tBodies[0], servers, (x) => x.address, createServerRow, updateServerRow);
  const empty = $("servers-empty");
  empty.hidden = servers.length > 0;
  setText(empty, "No piece servers registered.");
  const counts = { alive: 0, draining: 0, ejected: 0 };
  for (const x of servers) if (x.state in counts) counts[x.state]++;
  setText($("servers-summary"), `${counts.alive} alive · ${counts.draining} draining · ${counts.ejected} ejected`);

  const departed = (Array.isArray(s.departed) ? s.departed : [])
    .filter((x) => x && typeof x.address === "string")
    .sort((a, b) => (num(a.since_ms) ?? 0) - (num(b.since_ms) ?? 0));
  syncKeyed($("departed-list"), departed, (x) => x.address, createDepartedItem, updateDepartedItem);
  $("departed-empty").hidden = departed.length > 0;
}

// This gateway's replica of the island store: its Raft role, term, leader and progress.
function renderStore(store) {
  const role = $("store-role");
  if (!store || typeof store !== "object") {
    setText(role, "—");
    setText($("store-detail"), "—");
    return;
  }
  setBadge(role, str(store.role, "unknown"), STORE_ROLES);
  const leader = str(store.leader_address, "") || "no leader";
  setText($("store-detail"),
    `term ${fmtInt(store.term)} · leader ${leader} · applied ${fmtInt(store.applied)}/${fmtInt(store.commit)} · rev ${fmtInt(store.revision)}`);
  setBadge($("store-replica-role"), str(store.role, "unknown"), STORE_ROLES);
  setText($("store-term"), fmtInt(store.term));
  setText($("store-leader"), leader);
  setText($("store-applied"), fmtInt(store.applied));
  setText($("store-commit"), fmtInt(store.commit));
}

// ---------- store members ----------

// The leader's view has each member's progress; without a leader, this replica's own view
// still says who the members are.
async function refreshMembers() {
  let data;
  let fromLeader = true;
  try {
    data = await getJSON("/api/store/members");
  } catch {
    fromLeader = false;
    try {
      data = await getJSON("/api/store/members?serializable=true");
    } catch (e) {
      const err = $("store-error");
      err.hidden = false;
      setText(err, `Could not load the store's members: ${e && e.message ? e.message : e}`);
      return;
    }
  }
  $("store-error").hidden = true;
  const members = (Array.isArray(data.members) ? data.members : [])
    .filter((m) => m && typeof m.address === "string" && m.address !== "")
    .sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }));
  syncKeyed($("store-members").tBodies[0], members, (m) => m.address, createMemberRow, updateMemberRow);
  const empty = $("store-members-empty");
  empty.hidden = members.length > 0;
  setText(empty, "No members known.");
  const voters = members.filter((m) => m.role === "voter").length;
  const learners = members.length - voters;
  setText($("store-summary"), `${voters} ${voters === 1 ? "voter" : "voters"} · ${learners} ${learners === 1 ? "learner" : "learners"}`);
  setText($("store-members-source"), fromLeader
    ? `as the leader ${str(data.leader_address)} sees them`
    : "this gateway's own view: no leader answered, so no progress is shown");
}

function createMemberRow(addr) {
  const tr = el("tr");
  tr.dataset.address = addr;
  for (const cls of ["mono", "", "num", "num", ""]) {
    const td = tr.insertCell();
    if (cls) td.className = cls;
  }
  tr.cells[1].append(el("span", "badge"), el("span", "badge b-leader"), el("span", "badge b-promoting"));
  tr.cells[1].children[1].textContent = "leader";
  tr.cells[1].children[2].textContent = "promoting";
  return tr;
}

function updateMemberRow(tr, m) {
  const c = tr.cells;
  const role = str(m.role, "unknown");
  const leader = m.leader === true;
  const promoting = m.promoting === true;
  setText(c[0], m.address);
  const [roleBadge, leaderBadge, promotingBadge] = c[1].children;
  setBadge(roleBadge, role, MEMBER_ROLES);
  leaderBadge.hidden = !leader;
  promotingBadge.hidden = !promoting;
  promotingBadge.title = "a learner the leader makes a voter once it has caught up";
  tr.dataset.role = role;
  tr.dataset.leader = String(leader);
  setText(c[2], fmtInt(m.match));
  setText(c[3], fmtInt(m.lag));
  const state = str(m.state, leader ? "leads" : "—");
  setText(c[4], m.active === false ? `${state} (not answering)` : state);
}

function createServerRow(addr) {
  const tr = el("tr");
  tr.dataset.address = addr;
  for (const cls of ["mono", "", "figs", "num", "num", "num"]) {
    const td = tr.insertCell();
    if (cls) td.className = cls;
  }
  tr.cells[1].append(el("span", "badge"));
  return tr;
}

function updateServerRow(tr, s) {
  const c = tr.cells;
  const state = str(s.state, "unknown");
  const figs = strList(s.figures);
  const load = s.load || {};
  setText(c[0], s.address);
  c[0].title = s.incarnation !== undefined ? `incarnation ${s.incarnation}` : "";
  setBadge(c[1].firstChild, state, SERVER_STATES);
  tr.dataset.state = state;
  setText(c[2], figs.length ? figs.join(", ") : "—");
  setText(c[3], fmtInt(s.outstanding));
  setText(c[4], fmtInt(load.served));
  c[4].title = `in flight: ${fmtInt(load.in_flight)}`;
  setText(c[5], fmtAgo(s.last_seen_ms));
  tr.classList.toggle("hosts-selected", selected !== null && figs.includes(selected));
}

function createDepartedItem(addr) {
  const li = el("li");
  li.dataset.address = addr;
  li.append(el("span", "mono"), el("span", "badge"), el("span", "figs"), el("span", "muted ago"));
  return li;
}

function updateDepartedItem(li, d) {
  const [a, badge, figs, ago] = li.children;
  const reason = str(d.reason, "unknown");
  setText(a, d.address);
  setBadge(badge, reason, DEPART_REASONS);
  li.dataset.reason = reason;
  const f = strList(d.figures);
  setText(figs, f.length ? f.join(", ") : "—");
  setText(ago, fmtAgo(d.since_ms));
}

// ---------- figures list ----------

async function refreshFigures() {
  const errEl = $("figures-error");
  let data;
  try {
    data = await getJSON("/api/figures");
  } catch (e) {
    errEl.hidden = false;
    setText(errEl, `Could not load figures: ${e && e.message ? e.message : e}`);
    return;
  }
  errEl.hidden = true;
  const figs = (Array.isArray(data.figures) ? data.figures : [])
    .filter((f) => f && typeof f.name === "string" && f.name !== "")
    .sort((a, b) => a.name.localeCompare(b.name));
  syncKeyed($("figures-list"), figs, (f) => f.name, createFigureButton, updateFigureButton);
  setRemoteFigures(figs, currentIsland);
  const empty = $("figures-empty");
  empty.hidden = figs.length > 0;
  setText(empty, "No figures known.");
  const unavailable = figs.filter((f) => !isAvailable(f)).length;
  setText($("figures-summary"), `${figs.length} figures` + (unavailable ? ` · ${unavailable} unavailable` : ""));
}

function createFigureButton(name) {
  const b = el("button", "fig");
  b.type = "button";
  b.dataset.figure = name;
  b.append(el("span", "fig-name"), el("span", "fig-title"), el("span", "fig-rep"));
  b.addEventListener("click", () => selectFigure(name));
  return b;
}

// A figure of another island lists no servers of ours: it is reached through that island's
// bridge (`via`).
function remoteVia(f) {
  return f.island && f.island !== currentIsland && typeof f.via === "string" && f.via !== "" ? f.via : "";
}

function isAvailable(f) {
  return strList(f.servers).length > 0 || remoteVia(f) !== "";
}

function updateFigureButton(b, f) {
  const servers = strList(f.servers);
  const n = servers.length;
  const via = remoteVia(f);
  const available = isAvailable(f);
  const [nameEl, titleEl, repEl] = b.children;
  setText(nameEl, f.name);
  let title = str(f.title, "");
  if (f.island && f.island !== currentIsland) title += (title ? " · " : "") + `island ${f.island}`;
  setText(titleEl, title);
  setText(repEl, n > 0 ? `${n} ${n === 1 ? "replica" : "replicas"}` : via ? "via bridge" : "unavailable");
  b.classList.toggle("unavailable", !available);
  b.dataset.replicas = String(n);
  b.dataset.available = String(available);
  b.title = n ? `live on ${servers.join(", ")}` : via ? `held by island ${f.island}, reached through ${via}`
    : "no live piece servers";
  b.setAttribute("aria-pressed", String(f.name === selected));
}

// ---------- figure detail ----------

let detailSeq = 0;

async function selectFigure(name) {
  selected = name;
  const seq = ++detailSeq;
  for (const b of $("figures-list").querySelectorAll("[data-figure]")) {
    b.setAttribute("aria-pressed", String(b.dataset.figure === name));
  }
  if (lastStatus) renderStatus(lastStatus); // refresh "hosts selected" highlight

  const detail = $("figure-detail");
  detail.dataset.figure = name;
  detail.dataset.state = "loading";
  $("figure-placeholder").hidden = true;
  $("figure-body").hidden = false;
  setText($("figure-title"), name);
  setText($("figure-status"), "loading…");
  $("figure-error").hidden = true;
  $("figure-meta").hidden = true;
  $("figure-pieces").tBodies[0].replaceChildren();
  setText($("figure-pieces-total"), "0");

  let data;
  try {
    data = await getJSON(`/api/figures/${encodeURIComponent(name)}`);
  } catch (e) {
    if (seq !== detailSeq) return;
    detail.dataset.state = "error";
    setText($("figure-status"), e && e.status ? `HTTP ${e.status}` : "failed");
    const err = $("figure-error");
    err.hidden = false;
    setText(err, e && e.message ? e.message : String(e));
    $("figure-pieces").hidden = true;
    return;
  }
  if (seq !== detailSeq) return;
  renderDetail(data, name);
}

function renderDetail(d, name) {
  const detail = $("figure-detail");
  detail.dataset.state = "loaded";
  const title = str(d.title, "");
  setText($("figure-title"), title && title !== name ? `${title} (${str(d.name, name)})` : str(d.name, name));
  setText($("figure-status"), "");

  const pieces = (Array.isArray(d.pieces) ? d.pieces : []).filter((p) => p && typeof p === "object");
  const tbody = $("figure-pieces").tBodies[0];
  let total = 0;
  const rows = pieces.map((p) => {
    const amount = num(p.amount) ?? 0;
    total += amount;
    const tr = el("tr");
    tr.dataset.piece = str(p.piece, "");
    const part = tr.insertCell();
    part.className = "mono";
    part.textContent = str(p.piece);
    tr.insertCell().textContent = str(p.description);
    const colourCell = tr.insertCell();
    const c = colourFor(p.color);
    const sw = el("span", "swatch" + (c.trans ? " trans" : "") + (c.known ? "" : " unknown"));
    sw.style.backgroundColor = c.hex;
    sw.title = c.known ? c.hex : "unknown colour";
    const label = el("span");
    label.textContent = str(p.color);
    colourCell.append(sw, label);
    const amt = tr.insertCell();
    amt.className = "num";
    amt.textContent = fmtInt(p.amount);
    return tr;
  });
  tbody.replaceChildren(...rows);
  $("figure-pieces").hidden = false;
  setText($("figure-pieces-total"), String(total));
  setText($("figure-total"), String(total));
  setText($("figure-parts"), String(pieces.length));
  setText($("figure-server"), str(d.server));
  setText($("figure-island"), str(d.island));
  $("figure-meta").hidden = false;
  if (pieces.length === 0) setText($("figure-status"), "no pieces");
}

// ---------- start ----------

poll(refreshStatus, STATUS_MS);
poll(refreshFigures, FIGURES_MS);
poll(refreshMembers, MEMBERS_MS);
poll(refreshEvents, EVENTS_MS);
poll(refreshBalancers, BALANCERS_MS);
