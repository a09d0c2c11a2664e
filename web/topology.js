// The topology panel: this island's gateways (the one answering plus its SWIM peers) with
// their state and load, the bridge and the store leader marked, its piece servers, and the
// other islands the bridge links to. Redrawn from every /api/status.
import { $, el, setText, setClass, str, num, fmtInt, fmtAgo, strList, syncKeyed, byAddress } from "./util.js";

const GATEWAY_STATES = new Set(["alive", "suspect", "dead", "left", "gone"]);
const SERVER_STATES = new Set(["alive", "draining", "ejected"]);

// Gateways seen in an earlier status but no longer listed (a dead peer is forgotten after
// its retention): kept as "gone" so that a gateway never silently vanishes from the page.
const remembered = new Map();
let remoteFigures = new Map(); // island -> figure names, from /api/figures

export function setRemoteFigures(figures, localIsland) {
  const next = new Map();
  for (const f of Array.isArray(figures) ? figures : []) {
    if (!f || typeof f.name !== "string" || typeof f.island !== "string") continue;
    if (f.island === localIsland) continue;
    if (!next.has(f.island)) next.set(f.island, []);
    next.get(f.island).push(f.name);
  }
  remoteFigures = next;
}

// The gateways as the answering one sees them, itself included, sorted by address.
export function gatewaysOf(status) {
  const bridge = status.bridge && typeof status.bridge.leader === "string" ? status.bridge.leader : "";
  const storeLeader = status.store && typeof status.store.leader_address === "string"
    ? status.store.leader_address : "";
  const listed = new Map();
  if (typeof status.node === "string") {
    listed.set(status.node, {
      address: status.node, state: "alive", self: true, draining: status.state === "draining",
      incarnation: status.incarnation, load: status.load, last_contact_ms: 0,
    });
  }
  for (const p of Array.isArray(status.peers) ? status.peers : []) {
    if (!p || typeof p.address !== "string" || listed.has(p.address)) continue;
    listed.set(p.address, {
      address: p.address, state: str(p.state, "unknown"), self: false, draining: p.draining === true,
      incarnation: p.incarnation, load: p.load, last_contact_ms: p.last_contact_ms,
    });
  }
  for (const [address, g] of listed) remembered.set(address, g);
  for (const [address, g] of remembered) {
    if (!listed.has(address)) listed.set(address, { ...g, state: "gone", self: false, draining: false });
  }
  return [...listed.values()]
    .map((g) => ({ ...g, bridge: g.address === bridge, storeLeader: g.address === storeLeader }))
    .sort((a, b) => byAddress(a.address, b.address));
}

export function renderTopology(status) {
  const island = str(status.island);
  const bridge = status.bridge && typeof status.bridge === "object" ? status.bridge : {};
  const gateways = gatewaysOf(status);
  const servers = (Array.isArray(status.piece_servers) ? status.piece_servers : [])
    .filter((s) => s && typeof s.address === "string")
    .sort((a, b) => byAddress(a.address, b.address));
  const remotes = (Array.isArray(status.remote_islands) ? status.remote_islands : [])
    .filter((r) => r && typeof r.island === "string")
    .sort((a, b) => a.island.localeCompare(b.island));

  setText($("topo-island-name"), island);
  const leader = str(bridge.leader, "");
  setText($("topo-bridge"), leader
    ? `bridge ${leader} · round ${fmtInt(bridge.round)}`
    : `no bridge yet · electing (round ${fmtInt(bridge.round)})`);

  syncKeyed($("topo-gateways"), gateways, (g) => g.address, createGateway, updateGateway);
  syncKeyed($("topo-pieces"), servers, (s) => s.address, createServer, updateServer);
  $("topo-pieces-empty").hidden = servers.length > 0;
  syncKeyed($("topo-remotes"), remotes, (r) => r.island, createRemote, (node, r) => updateRemote(node, r, leader));
  $("topo-remotes-empty").hidden = remotes.length > 0;
  $("topology").dataset.bridge = leader;

  const alive = gateways.filter((g) => g.state === "alive").length;
  setText($("topo-summary"),
    `${gateways.length} gateways (${alive} alive) · ${servers.length} piece ${servers.length === 1 ? "server" : "servers"} · ` +
    `${remotes.length} other ${remotes.length === 1 ? "island" : "islands"}`);
}

// The answering gateway stopped answering: its card says so until it answers again.
export function markUnreachable() {
  const card = $("topo-gateways").querySelector("[data-self='true']");
  if (!card) return;
  card.dataset.state = "unreachable";
  const badge = card.querySelector(".badge");
  setText(badge, "unreachable");
  setClass(badge, "badge b-unreachable");
}

function createGateway(address) {
  const card = el("div", "node gw");
  card.dataset.address = address;
  const head = el("div", "node-head");
  head.append(el("span", "mono addr", address), el("span", "badge"));
  const tags = el("div", "tags");
  for (const [cls, text, title] of [
    ["t-self", "this gateway", "the gateway serving this page"],
    ["t-bridge", "bridge ⇄", "the island's elected bridge to other islands"],
    ["t-leader", "store leader", "leader of the island store (Raft)"],
    ["t-draining", "draining", "takes no new requests"],
    ["t-saturated", "saturated", "over its limit: forwards new requests to peers"],
  ]) {
    const tag = el("span", "tag " + cls, text);
    tag.title = title;
    tags.append(tag);
  }
  card.append(head, tags, el("div", "load"), el("div", "contact muted"));
  return card;
}

function updateGateway(card, g) {
  const [head, tags, load, contact] = card.children;
  const badge = head.children[1];
  setText(badge, g.state);
  setClass(badge, "badge " + (GATEWAY_STATES.has(g.state) ? "b-" + g.state : "b-unknown"));
  card.dataset.state = g.state;
  card.dataset.bridge = String(g.bridge);
  card.dataset.storeLeader = String(g.storeLeader);
  card.dataset.self = String(g.self);
  const l = g.load && typeof g.load === "object" ? g.load : {};
  const [self, bridge, leader, draining, saturated] = tags.children;
  self.hidden = !g.self;
  bridge.hidden = !g.bridge;
  leader.hidden = !g.storeLeader;
  draining.hidden = !g.draining;
  saturated.hidden = l.saturated !== true || g.state !== "alive";
  const capacity = num(l.capacity);
  setText(load, `in flight ${fmtInt(l.in_flight)}/${capacity ? fmtInt(capacity) : "∞"} · ` +
    `p99 ${fmtInt(l.p99_ms)} ms · CPU ${fmtInt(l.cpu_percent)} %`);
  load.title = `queueing delay ${fmtInt(l.queue_delay_ms)} ms` + (capacity ? "" : " · no in-flight limit");
  setText(contact, g.self ? "answering this page"
    : g.state === "gone" ? "no longer listed by this gateway"
      : `heard from ${fmtAgo(g.last_contact_ms)}`);
  card.title = g.incarnation !== undefined ? `incarnation ${g.incarnation}` : "";
}

function createServer(address) {
  const card = el("div", "node piece");
  card.dataset.address = address;
  const head = el("div", "node-head");
  head.append(el("span", "mono addr", address), el("span", "badge"));
  card.append(head, el("div", "muted count"), el("div", "figs"));
  return card;
}

function updateServer(card, s) {
  const [head, count, figs] = card.children;
  const state = str(s.state, "unknown");
  const badge = head.children[1];
  setText(badge, state);
  setClass(badge, "badge " + (SERVER_STATES.has(state) ? "b-" + state : "b-unknown"));
  card.dataset.state = state;
  const names = strList(s.figures);
  setText(count, `${names.length} ${names.length === 1 ? "figure" : "figures"} · seen ${fmtAgo(s.last_seen_ms)}`);
  setText(figs, names.join(", "));
  figs.title = names.join(", ");
}

function createRemote(island) {
  const row = el("div", "remote");
  row.dataset.island = island;
  const link = el("div", "link");
  link.append(el("span", "link-label ours mono"), el("span", "link-label theirs mono"));
  const box = el("div", "remote-box");
  box.append(el("span", "island", island), el("div", "mono bridge"), el("div", "muted count"), el("div", "figs"));
  row.append(link, box);
  return row;
}

function updateRemote(row, r, ourBridge) {
  const [link, box] = row.children;
  const theirs = str(r.bridge, "?");
  setText(link.children[0], ourBridge || "no bridge");
  setText(link.children[1], theirs);
  link.title = `linked through our bridge ${ourBridge || "(none elected)"} and theirs, ${theirs}`;
  const [, bridge, count, figs] = box.children;
  setText(bridge, `bridge ${theirs}`);
  const gateways = strList(r.gateways);
  const n = num(r.figure_count);
  setText(count, `${gateways.length} ${gateways.length === 1 ? "gateway" : "gateways"} · ` +
    `${fmtInt(n)} ${n === 1 ? "figure" : "figures"}`);
  count.title = gateways.join(", ");
  const names = remoteFigures.get(r.island) || [];
  setText(figs, names.join(", "));
  figs.title = names.join(", ");
}
