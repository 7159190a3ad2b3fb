/**
 * The roster in `serve` (docs/FEDERATION_PROTOCOL.md §Roster exchange): takes a roster a peer
 * offers (`POST /federation/roster`) or `roster publish` stored, puts a higher valid serial in
 * force at once and logs what changed, offers it to every peer, and at each anti-entropy round
 * asks every peer for its roster (`GET /federation/roster`) so a node that missed an offer
 * catches up. A roster carries its own authority (k governance signatures), so it is taken from
 * anyone; the check is lib/roster/check.ts.
 */
import { ProtocolError } from "../errors.js";
import { parsePeerJson } from "../messages/json.js";
import { checkSuccession } from "../roster/check.js";
import { parseRoster, type Roster } from "../roster/document.js";
import { installRoster, type InstallResult } from "../roster/roster-files.js";
import type { Logger } from "./log.js";
import type { NodeRuntime } from "./runtime.js";

/** How long one offer or one pull of a roster may take, ms. */
const EXCHANGE_TIMEOUT_MS = 5_000;

export interface RosterReply {
  status: number;
  body: unknown;
}

export class RosterKeeper {
  readonly #runtime: NodeRuntime;
  readonly #log: Logger;
  /** Offers are judged one at a time, so two cannot both pass the serial check. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Rosters put in force by this process, and offers refused, for /metrics. */
  applied = 0;
  refused = 0;

  constructor(runtime: NodeRuntime, log: Logger) {
    this.#runtime = runtime;
    this.#log = log;
  }

  /** `GET /federation/roster`: the roster in force. */
  current(): RosterReply {
    const r = this.#runtime.roster;
    if (r === undefined) throw new ProtocolError("NOT_FOUND", 404, "this node has no roster in force");
    return { status: 200, body: r };
  }

  /** `POST /federation/roster`: a roster offered by a peer, judged and, when newer and valid, put in force. */
  async receive(text: string): Promise<RosterReply> {
    const p = parseRoster(parsePeerJson(text));
    if (!p.ok) throw new ProtocolError("MALFORMED", 400, `not a roster: ${p.reason}`);
    const r = await this.offer(p.roster, "a peer's offer");
    const serial = this.#runtime.roster?.serial ?? null;
    return { status: 200, body: r.outcome === "refused" ? { accepted: false, serial, code: r.code, reason: r.reason } : { accepted: true, serial } };
  }

  /** Judges `candidate` and, when it is newer and valid, stores and applies it and offers it on. */
  offer(candidate: Roster, from: string): Promise<InstallResult> {
    const run = this.#queue.then(() => this.#offer(candidate, from));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #offer(candidate: Roster, from: string): Promise<InstallResult> {
    const current = this.#runtime.roster;
    // Cheap refusals first: an old serial costs no signature check (docs/FEDERATION_SEMANTICS.md §6. Threat model).
    const succession = checkSuccession(current, candidate);
    let r: InstallResult;
    if (!succession.ok) r = { outcome: "refused", code: succession.code, reason: succession.reason };
    else if (succession.same) r = { outcome: "same", roster: candidate };
    else r = await installRoster(this.#runtime.config.federation.mesh.stateDir, this.#runtime.config.federation.governance, candidate, this.#runtime.now());
    if (r.outcome === "refused") {
      this.refused++;
      this.#log.warn("roster refused", { from, serial: candidate.serial, code: r.code, reason: r.reason });
    } else if (r.outcome === "installed") await this.poll(from);
    return r;
  }

  /** Puts in force a higher serial held in the state directory (`roster publish`), logs it and offers it on. */
  async poll(source = "roster publish"): Promise<void> {
    const a = await this.#runtime.refreshRoster();
    if (a === undefined) return;
    this.applied++;
    const routes = Object.fromEntries([...(this.#runtime.rosterApplied?.routes ?? [])].map(([ns, r]) => [ns, { ...(r.pattern === undefined ? {} : { pattern: r.pattern }), peers: r.peers, ...r.routing }]));
    this.#log.info("roster applied", {
      serial: a.roster.serial,
      previous: a.previous?.serial ?? null,
      from: source,
      ...a.change,
      denied: a.denied,
      peers: [...this.#runtime.config.peers.values()].map((p) => `${p.did} ${[...p.roles].sort().join(",")}`),
      origins: [...this.#runtime.config.origins.keys()],
      witnesses: [...this.#runtime.config.witnesses.keys()],
      quorum: Object.fromEntries([...this.#runtime.config.federation.namespaces].filter(([, n]) => n.quorum !== undefined).map(([ns, n]) => [ns, n.quorum])),
      routes,
    });
    if (!this.#runtime.roster?.members.some((m) => m.did === this.#runtime.me.did)) this.#log.warn("this node is not a member of the roster in force: peers will refuse its messages", { serial: a.roster.serial });
    await this.push(a.roster);
  }

  /** Offers `roster` to every peer; a peer that is down learns it from anti-entropy later. */
  async push(roster: Roster): Promise<number> {
    const peers = [...this.#runtime.config.peers.values()];
    const answers = await Promise.all(peers.map((p) => this.#runtime.client.postJson(p, "/federation/roster", roster, { timeoutMs: EXCHANGE_TIMEOUT_MS, maxResponseBytes: 64 * 1024 })));
    return answers.filter((a) => a.ok).length;
  }

  /** Anti-entropy for the roster: asks every peer for its roster and takes a higher valid serial. */
  async pull(): Promise<void> {
    if (this.#runtime.config.federation.governance === undefined) return;
    for (const peer of [...this.#runtime.config.peers.values()]) {
      const r = await this.#runtime.client.getJson(peer, "/federation/roster", { timeoutMs: EXCHANGE_TIMEOUT_MS, maxResponseBytes: 1024 * 1024 });
      // The exchange doubles as the latency probe routing policies use (lib/federation/peer-selection.ts); a 404 is an answer too.
      const answered = r.ok || r.status !== undefined;
      this.#runtime.observePeer(peer.did, answered ? { ok: true, latencyMs: r.latencyMs } : { ok: false });
      if (!r.ok) continue;
      const p = parseRoster(r.body);
      if (!p.ok) continue;
      if (p.roster.serial > (this.#runtime.roster?.serial ?? 0)) await this.offer(p.roster, peer.did);
    }
  }
}

/**
 * The roster's lines of GET /metrics (docs/FEDERATION_OPERATIONS.md §Monitoring):
 * `vmsh_federation_roster_serial` (0 without a roster), rosters applied and offers refused,
 * and how often each peer was chosen by a routing policy, per purpose.
 */
export function rosterMetrics(serial: number | undefined, keeper: RosterKeeper | undefined, selections: ReadonlyMap<string, number>): string {
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const lines = [
    "# HELP vmsh_federation_roster_serial Serial of the roster in force; 0 when none is.",
    "# TYPE vmsh_federation_roster_serial gauge",
    `vmsh_federation_roster_serial ${serial ?? 0}`,
    "# HELP vmsh_federation_roster_applied_total Rosters this process put in force.",
    "# TYPE vmsh_federation_roster_applied_total counter",
    `vmsh_federation_roster_applied_total ${keeper?.applied ?? 0}`,
    "# HELP vmsh_federation_roster_refused_total Roster offers refused (signatures, expiry, rollback).",
    "# TYPE vmsh_federation_roster_refused_total counter",
    `vmsh_federation_roster_refused_total ${keeper?.refused ?? 0}`,
    "# HELP vmsh_federation_peer_selected_total Times a routing policy chose the peer, by purpose (announce, pull, sync).",
    "# TYPE vmsh_federation_peer_selected_total counter",
  ];
  for (const [k, n] of [...selections].sort()) {
    const [purpose, peer] = k.split(" ") as [string, string];
    lines.push(`vmsh_federation_peer_selected_total{peer="${esc(peer)}",purpose="${esc(purpose)}"} ${n}`);
  }
  return `${lines.join("\n")}\n`;
}
