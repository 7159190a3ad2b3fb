/**
 * The explorer page (docs/EXPLORER.md): the peer network, the batches of a namespace with
 * every anchor's verdict, equivocations, and the receipt search with its Merkle branch and
 * proof download. Reads only /api/v1/ on the node that served it; live through /api/v1/events.
 */
import { ApiError, download, follow, get, setToken } from "./api.js";
import { drawBranch, type Branch } from "./branch.js";
import { clear, didName, h, iso, short, time } from "./dom.js";
import { drawGraph, type Topology } from "./graph.js";

interface Peer {
  did: string;
  url: string;
  reachable: boolean;
  latencyMs?: number;
  detail: string;
  lastSync: Record<string, number>;
  backoff: Record<string, { failures: number; until: number }>;
  outboxDepth: number;
}
interface BatchRow {
  namespace: string;
  batchId: string;
  batchRoot: string;
  /** The DID that signed the batch's checkpoint; null for a version stored by 0.1.0 without one. */
  origin: string | null;
  createdAt: number;
  size: number;
  receipts: number;
  anchors: number;
  outcomes: { verified: number; pending: number; rejected: number };
  status: "active" | "held" | "rejected";
  equivocal: boolean;
  /** Quorum state of the version (the list's rows); null where the node reports none. */
  quorumState?: "final" | "awaiting" | "disputed" | null;
}
interface AnchorRow {
  chain: string;
  tx: string;
  block: number;
  ts: number;
  outcome: "verified" | "pending" | "rejected";
  reason: string | null;
  /** The claim's memo, as the peer sent it. */
  memo?: string;
  winner: boolean;
  superseded_by: string | null;
  evidence: Record<string, unknown> | null;
}
interface Quorum {
  state: string;
  k: number;
  cosigners: string[];
  needed?: number;
  notYet?: string[];
  disagree?: Array<{ signer: string; winner: { chain: string; tx: string } }>;
  reason?: string;
  /** The root is contested and this version is not the attributed claim: it cannot be final. */
  contested?: string;
}
interface BatchDetail extends BatchRow {
  winner: AnchorRow | null;
  anchorRecords: AnchorRow[];
  quorum?: Quorum;
}
interface Receipt {
  id: string;
  namespace: string;
  batchId: string;
  batchRoot: string;
  eventHash: string;
  ts: number;
  proof: { tree: string; index: number; size: number; path: string[] };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const PAGE = 50;
let namespace = "";
let shown = PAGE;
const known = new Set<string>();

function showError(e: unknown): void {
  const el = $("error");
  if (e instanceof ApiError && e.status === 401) {
    $("token-form").hidden = false;
    $<HTMLInputElement>("token-input").focus();
  }
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
}

function dl(rows: Array<[string, Node | string]>): HTMLDListElement {
  return h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

async function loadNetwork(): Promise<void> {
  const [{ peers }, topo] = await Promise.all([get<{ peers: Peer[] }>("/api/v1/peers"), get<Topology>("/api/v1/topology")]);
  clear($("graph"), drawGraph(topo, (did) => {
    const row = document.querySelector<HTMLElement>(`#peers tr[data-did="${CSS.escape(did)}"]`);
    row?.focus();
  }));
  // Each peer's error text is its own: isolated, so that it cannot reorder the words around it.
  const unreachable = topo.errors.flatMap((e, i) => [i === 0 ? " No topology from " : "; ", `${didName(e.peer)}: `, iso(e.error)]);
  const hidden = (topo.truncated ?? []).flatMap((m) => [` ${didName(m.peer)} lists ${m.shown + m.hidden} peers; ${m.shown} are drawn.`]);
  clear($("graph-caption"), "Edges are routed namespaces; outer nodes are peers of peers, from their signed topology answers.", ...unreachable, unreachable.length > 0 ? "." : "", ...hidden);
  clear(
    $("peers").querySelector("tbody")!,
    ...peers.map((p) => {
      const sync = Object.entries(p.lastSync).map(([ns, t]) => `${ns}: ${time(t)}`).join("; ");
      const backoff = Object.entries(p.backoff).map(([ns, b]) => `${ns}: ${b.failures} failures, next ${time(b.until)}`).join("; ");
      return h("tr", { "data-did": p.did, tabindex: "-1" },
        h("td", { class: "mono", title: p.url }, p.did),
        h("td", { class: p.reachable ? "outcome-verified" : "outcome-rejected", title: p.detail }, ...(p.reachable ? ["yes"] : ["no (", iso(p.detail), ")"])),
        h("td", {}, p.latencyMs !== undefined ? `${p.latencyMs} ms` : "–"),
        h("td", {}, sync || "never"),
        h("td", {}, backoff || "none"),
        h("td", {}, String(p.outboxDepth)),
      );
    }),
  );
}

async function loadNamespaces(): Promise<void> {
  const { namespaces } = await get<{ namespaces: Array<{ name: string; batches: number }> }>("/api/v1/namespaces");
  const select = $<HTMLSelectElement>("namespace");
  const current = select.value || namespaces[0]?.name || "";
  clear(select, ...namespaces.map((n) => h("option", { value: n.name, selected: n.name === current }, `${n.name} (${n.batches})`)));
  namespace = current;
}

async function loadBatches(): Promise<void> {
  if (namespace === "") return;
  const status = $<HTMLSelectElement>("status-filter").value;
  const quorum = $<HTMLSelectElement>("quorum-filter").value;
  const q = new URLSearchParams({ limit: String(shown) });
  if (status) q.set("status", status);
  if (quorum) q.set("quorum", quorum);
  const page = await get<{ items: BatchRow[]; next: number | null; total: number }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/batches?${q}`);
  const first = known.size === 0;
  clear(
    $("batches").querySelector("tbody")!,
    ...page.items.map((row) => {
      const b: BatchRow = { ...row, quorumState: (row as unknown as { quorum?: BatchRow["quorumState"] }).quorum ?? null };
      const key = `${b.namespace} ${b.batchId} ${b.batchRoot}`;
      const fresh = !first && !known.has(key);
      known.add(key);
      return h("tr", { class: fresh ? "new" : undefined, "data-batch": b.batchId, "data-root": b.batchRoot },
        h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Show batch ${b.batchId}` }, b.batchId)),
        h("td", { class: "mono optional", title: b.batchRoot }, short(b.batchRoot)),
        h("td", { class: "mono optional", title: b.origin ?? "" }, b.origin === null ? "no checkpoint" : short(b.origin)),
        h("td", { class: "optional" }, time(b.createdAt)),
        h("td", { class: "optional" }, b.receipts === b.size ? String(b.size) : `${b.receipts} of ${b.size}`),
        h("td", { class: `status-${b.status}` }, b.status + (b.equivocal ? " · equivocal" : "")),
        // The agreement cell holds badges: the quorum state now, a contest beside it where one exists (docs/EXPLORER.md §What the page shows).
        h("td", { class: "agreement", "data-testid": "agreement" }, h("span", { class: `badge quorum-${b.quorumState ?? "none"}` }, b.quorumState ?? "–")),
        h("td", { class: "optional" }, `${b.outcomes.verified} verified, ${b.outcomes.pending} pending, ${b.outcomes.rejected} rejected`),
      );
    }),
  );
  $("batches").querySelectorAll<HTMLButtonElement>("tbody button").forEach((btn) => {
    const tr = btn.closest("tr")!;
    btn.addEventListener("click", () => void showBatch(namespace, tr.dataset.batch!, tr.dataset.root!).catch(showError));
  });
  $("more").hidden = page.next === null;
}

function anchorDetail(a: AnchorRow): HTMLElement {
  const rows: Array<[string, Node | string]> = [
    ["chain", a.chain],
    ["tx", h("span", { class: "mono" }, a.tx)],
    ["block", String(a.block)],
    ["verdict", h("span", { class: `outcome-${a.outcome}`, "data-testid": "verdict" }, a.outcome)],
    ["reason", h("span", { "data-testid": "reason" }, a.reason !== null ? iso(a.reason) : a.outcome === "verified" ? "every check passed with this node's own endpoints and policy" : "–")],
    ["winner", a.winner ? "yes: the strongest verified anchor of this batch" : "no"],
  ];
  if (a.memo !== undefined) rows.push(["memo", h("span", { "data-testid": "memo" }, iso(a.memo))]);
  if (a.superseded_by !== null) rows.push(["superseded by", h("span", { class: "mono" }, a.superseded_by)]);
  if (a.evidence !== null) rows.push(["evidence", h("span", { class: "mono" }, JSON.stringify(a.evidence))]);
  return h("div", { class: "detail", id: "anchor-detail", role: "region", "aria-label": `Anchor ${a.chain} ${a.tx}` }, dl(rows));
}

/** Quorum state appears when the node reports one (docs/EXPLORER.md, "Quorum"). */
function quorumPanel(q: Quorum): HTMLElement {
  const rows: Array<[string, Node | string]> = [["state", q.state], ["cosigners", `${q.cosigners.length} of ${q.k}: ${q.cosigners.join(", ") || "none yet"}`]];
  if (q.needed !== undefined) rows.push(["needed", String(q.needed)]);
  if (q.notYet !== undefined && q.notYet.length > 0) rows.push(["not yet", q.notYet.join(", ")]);
  for (const d of q.disagree ?? []) rows.push(["disagrees", `${d.signer} cosigned ${d.winner.chain}/${d.winner.tx}`]);
  if (q.reason !== undefined) rows.push(["dispute", iso(q.reason)]);
  if (q.contested !== undefined) rows.push(["contested", iso(q.contested)]);
  return h("div", { class: "quorum", "data-testid": "quorum" }, h("h3", {}, "Quorum"), dl(rows));
}

async function showBatch(ns: string, batchId: string, root: string): Promise<void> {
  const b = await get<BatchDetail>(`/api/v1/namespaces/${encodeURIComponent(ns)}/batches/${encodeURIComponent(batchId)}/${encodeURIComponent(root)}`);
  const detailSlot = h("div", {});
  const buttons = b.anchorRecords.map((a) => {
    // Two anchors on one chain differ by their tx: every button names it (docs/EXPLORER.md §What the page shows).
    const btn = h("button", { type: "button", "aria-pressed": "false", "data-chain": a.chain, "data-tx": a.tx, title: `${a.chain} ${a.tx}` }, `${a.chain} · `, h("span", { class: "mono tx" }, short(a.tx)), " · ", h("span", { class: `outcome-${a.outcome}` }, a.outcome), a.winner ? " · winner" : "");
    btn.addEventListener("click", () => {
      buttons.forEach((x) => x.setAttribute("aria-pressed", String(x === btn)));
      clear(detailSlot, anchorDetail(a));
    });
    return btn;
  });
  clear(
    $("batch"),
    h("h3", { tabindex: "-1", id: "batch-h" }, `Batch ${b.batchId}`),
    dl([
      ["namespace", b.namespace],
      ["root", h("span", { class: "mono" }, b.batchRoot)],
      ["origin", h("span", { class: "mono" }, b.origin ?? "no checkpoint (stored by 0.1.0)")],
      ["sealed", time(b.createdAt)],
      ["size", b.receipts === b.size ? `${b.size} receipts` : `${b.receipts} of ${b.size} receipts held`],
      ["status", h("span", { class: `status-${b.status}` }, b.status)],
      ["winner", b.winner ? `${b.winner.chain} ${b.winner.tx}` : "none verified yet"],
    ]),
    b.quorum ? quorumPanel(b.quorum) : null,
    h("p", {}, "Anchors (choose one for its verdict and reason):"),
    h("div", { class: "anchors", role: "group", "aria-label": "Anchors" }, ...buttons),
    detailSlot,
  );
  $("batch-h").focus();
}

interface RosterAnswer {
  roster: null | { serial: number; federation: string; expired: boolean; members: Array<{ did: string; roles: string[]; key: string; nextKey?: string }>; denied: Array<{ did: string; reason: string }>; routes: Array<{ namespace: string; pattern?: string; peers: string[]; routing: Record<string, unknown> }> };
  revoked: Array<{ namespace: string; batchId: string; origin: string; revokedBy: number }>;
}

/** The roster in force, its routes, and the versions shown revoked-origin (docs/EXPLORER.md §API). */
async function loadRoster(): Promise<void> {
  const { roster, revoked } = await get<RosterAnswer>("/api/v1/roster");
  if (roster === null) return clear($("roster"), h("p", {}, "No roster in force: peers.yaml and federation.yaml decide admission and routes."));
  clear(
    $("roster"),
    h("p", {}, `Serial ${roster.serial} of ${roster.federation}, ${roster.members.length} members${roster.expired ? " (expired)" : ""}.`),
    h("ul", {}, ...roster.members.map((m) => h("li", { class: "mono" }, `${m.did} ${m.roles.join(",")}${m.nextKey ? " (rotating)" : ""}`))),
    h("ul", {}, ...roster.routes.map((r) => h("li", {}, `${r.namespace}${r.pattern ? ` (${r.pattern})` : ""}: ${r.peers.length} peers ${JSON.stringify(r.routing)}`))),
    ...roster.denied.map((d) => h("p", {}, `Denied here: ${d.did} (${d.reason})`)),
    ...revoked.map((v) => h("p", { class: "mono" }, `revoked-origin: ${v.namespace} batch ${v.batchId} by ${v.origin} (serial ${v.revokedBy})`)),
  );
}

async function loadEquivocations(): Promise<void> {
  const { equivocations } = await get<{ equivocations: Array<{ namespace: string; batchId: string; versions: Array<BatchRow & { anchorRecords?: AnchorRow[] }> }> }>("/api/v1/equivocations");
  if (equivocations.length === 0) return clear($("equivocations"), h("p", {}, "None: no batch id is held with two roots."));
  clear(
    $("equivocations"),
    ...equivocations.map((e) =>
      h("div", { class: "detail" },
        h("h3", {}, `${e.namespace} batch ${e.batchId}: ${e.versions.length} roots`),
        h("ul", {}, ...e.versions.map((v) => h("li", { class: "mono" }, `${v.batchRoot}${v.status ? ` (${v.status}, ${v.size} receipts)` : ""}`))),
      ),
    ),
  );
}

/** Roots claimed by two origins (or one origin's two shapes), with the attributed claim, and witness faults (docs/FEDERATION_SEMANTICS.md §6). */
async function loadContested(): Promise<void> {
  type Claim = { origin: string; batchId: string; createdAt: number; size: number; attributed: boolean };
  type Fault = { namespace: string; batchId: string; signer: string; checkpoint: string; reason: string };
  const { contested, witnessFaults } = await get<{ contested: Array<{ namespace: string; batchRoot: string; claims: Claim[] }>; witnessFaults: Fault[] }>("/api/v1/contested");
  const roots = contested.length === 0
    ? [h("p", {}, "None: no root is claimed by two origins or in two shapes.")]
    : contested.map((c) =>
        h("div", { class: "detail", "data-testid": "contested" },
          h("h3", {}, `${c.namespace} root `, h("span", { class: "mono" }, c.batchRoot)),
          h("ul", {}, ...c.claims.map((x) => h("li", {}, h("span", { class: "mono" }, x.origin), ` as ${x.batchId}, sealed `, time(x.createdAt), `, ${x.size} leaves`, x.attributed ? h("strong", {}, " — attributed") : ""))),
          c.claims.some((x) => x.attributed) ? null : h("p", {}, "No claim is attributed: none can be final until an operator removes an origin."),
        ),
      );
  const faults = witnessFaults.length === 0 ? [] : [h("h3", {}, "Witness faults"), h("ul", {}, ...witnessFaults.map((f) => h("li", { "data-testid": "witness-fault" }, `${f.namespace} batch ${f.batchId}: ${f.reason}`)))];
  clear($("contested"), ...roots, ...faults);
}

/** A panel per origin log: size, latest witnessed head, witnesses, forks; and the unlogged versions (docs/FEDERATION_SEMANTICS.md §Origin logs). */
async function loadOriginLogs(): Promise<void> {
  type Log = { origin: string; log: string; self: boolean; size: number; witnessedSize: number; witnessedAt?: number; witnesses: string[]; forks: number };
  const { logs, unlogged } = await get<{ logs: Log[]; unlogged: Array<{ namespace: string; batchId: string; origin: string }> }>("/api/v1/log");
  const panels = logs.map((l) =>
    h("div", { class: "detail", "data-testid": "origin-log" },
      h("h3", {}, h("span", { class: "mono" }, l.origin), l.self ? " (this node)" : ""),
      dl([
        ["log", h("span", { class: "mono" }, l.log)],
        ["size", h("span", { "data-testid": "log-size" }, `${l.size} checkpoints`)],
        ["last witnessed head", h("span", { "data-testid": "log-witnessed" }, l.witnessedSize === 0 ? "none yet" : `size ${l.witnessedSize}`, l.witnessedAt === undefined ? "" : ", witnessed ", l.witnessedAt === undefined ? "" : time(l.witnessedAt))],
        ["witnesses", h("span", { "data-testid": "log-witnesses" }, l.witnesses.length === 0 ? "none" : l.witnesses.join(", "))],
        ...(l.forks > 0 ? [["forks", h("strong", { class: "outcome-rejected" }, `${l.forks}: two heads that cannot both be true (GET /log/forks)`)] as [string, Node | string]] : []),
      ]),
    ),
  );
  const rest = unlogged.length === 0 ? [] : [h("h3", {}, "Unlogged checkpoints"), h("ul", {}, ...unlogged.map((u) => h("li", { "data-testid": "unlogged" }, `${u.namespace} batch ${u.batchId} of `, h("span", { class: "mono" }, u.origin))))];
  clear($("origin-logs"), ...(panels.length === 0 ? [h("p", {}, "No origin log.")] : panels), ...rest);
}

async function search(raw: string): Promise<void> {
  const id = raw.trim().toLowerCase();
  const section = $("receipt-section");
  section.hidden = false;
  if (!/^sha256:[0-9a-f]{64}$/.test(id)) {
    clear($("receipt"), h("p", { class: "error", role: "alert" }, "An event hash or receipt id is sha256: followed by 64 hexadecimal digits."));
    return;
  }
  let found: { receipts: Array<{ receipt: Receipt; inclusion: { ok: boolean; reason?: string }; branch: Branch | null; batch: BatchRow | null }> };
  try {
    found = await get(`/api/v1/receipts/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return clear($("receipt"), h("p", { role: "status" }, `This node holds no receipt ${id}.`));
    throw e;
  }
  clear(
    $("receipt"),
    ...found.receipts.map(({ receipt: r, inclusion, branch, batch }) => {
      const button = h("button", { type: "button", "data-testid": "download-proof" }, "Download proof");
      const logNote = h("span", { "data-testid": "proof-log", role: "status" });
      button.addEventListener("click", () => {
        void download(`/api/v1/receipts/${encodeURIComponent(r.id)}/proof?namespace=${encodeURIComponent(r.namespace)}`)
          .then(({ blob, log }) => {
            // docs/EXPLORER.md §Proof files: a file without a log part shows no witnessed inclusion in the origin's log.
            if (log === "logged") clear(logNote, " The file carries the checkpoint's inclusion in its origin's witnessed log.");
            else clear(logNote, " The file is unlogged: it shows no inclusion of the checkpoint in a witnessed head of its origin's log", ...(log.startsWith("unlogged; reason=") ? [" (", iso(log.slice(17).replace(/^"|"$/g, "")), ")"] : []), ".");
            const a = h("a", { href: URL.createObjectURL(blob), download: `proof-${r.id.slice(7, 23)}.json` });
            document.body.append(a);
            a.click();
            a.remove();
          })
          .catch(showError);
      });
      return h("article", { "data-testid": "receipt" },
        dl([
          ["event hash", h("span", { class: "mono" }, r.eventHash)],
          ["namespace", r.namespace],
          ["batch", h("button", { type: "button", class: "link", "data-open-batch": "" }, r.batchId)],
          ["batch root", h("span", { class: "mono" }, r.batchRoot)],
          ["sealed", time(r.ts)],
          ["position", `leaf ${r.proof.index} of ${r.proof.size} (${r.proof.tree})`],
          ["inclusion", h("span", { class: inclusion.ok ? "outcome-verified" : "outcome-rejected", "data-testid": "inclusion" }, ...(inclusion.ok ? ["proof recomputes the batch root"] : ["fails: ", iso(inclusion.reason ?? "")]))],
          ["batch status", batch ? h("span", { class: `status-${batch.status}` }, batch.status) : "unknown"],
        ]),
        branch ? h("div", {}, h("h3", {}, "Merkle branch"), drawBranch(branch, r.batchRoot)) : null,
        h("p", {}, button, " — the receipt with its origin's signed checkpoint, anchors, witness cosignatures and, when a witnessed head of its origin's log includes it, that inclusion: check it offline with ", h("code", {}, "vmsh-federation verify-proof FILE --trust TRUST-FILE"), " (the trust file comes from ", h("code", {}, "vmsh-federation trust export"), ").", logNote),
      );
    }),
  );
  $("receipt").querySelectorAll<HTMLButtonElement>("[data-open-batch]").forEach((btn, i) => {
    const r = found.receipts[i]!.receipt;
    btn.addEventListener("click", () => void showBatch(r.namespace, r.batchId, r.batchRoot).catch(showError));
  });
}

async function refreshAll(): Promise<void> {
  $("error").hidden = true;
  const node = await get<{ node: string; version: string }>("/api/v1/node");
  $("node-id").textContent = `${node.node} · v${node.version}`;
  await loadNamespaces();
  await Promise.all([loadNetwork(), loadBatches(), loadEquivocations(), loadContested(), loadOriginLogs(), loadRoster()]);
}

function start(): void {
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void search($<HTMLInputElement>("search-input").value).catch(showError);
  });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken($<HTMLInputElement>("token-input").value);
    $("token-form").hidden = true;
    void refreshAll().catch(showError);
  });
  $("namespace").addEventListener("change", () => {
    namespace = $<HTMLSelectElement>("namespace").value;
    shown = PAGE;
    known.clear();
    void loadBatches().catch(showError);
  });
  $("status-filter").addEventListener("change", () => void loadBatches().catch(showError));
  $("quorum-filter").addEventListener("change", () => void loadBatches().catch(showError));
  $("more").addEventListener("click", () => {
    shown += PAGE;
    void loadBatches().catch(showError);
  });
  void refreshAll().catch(showError);
  let pending: ReturnType<typeof setTimeout> | undefined;
  follow(
    (name, data) => {
      if (name !== "batches") return;
      const ns = (data as { namespace?: string }).namespace;
      // Bursts of events (a batch's receipts, then its anchors) cost one reload.
      clearTimeout(pending);
      pending = setTimeout(() => {
        void loadNamespaces()
          .then(() => Promise.all([ns === namespace ? loadBatches() : Promise.resolve(), loadEquivocations(), loadOriginLogs(), loadNetwork()]))
          .catch(showError);
      }, 200);
    },
    (live) => {
      const el = $("live");
      el.textContent = live ? "live" : "reconnecting…";
      el.className = `live ${live ? "on" : "off"}`;
    },
  );
}

start();
