/**
 * The rosters a node holds, on disk (docs/STATE.md §Roster): `<stateDir>/roster/<serial>.json`,
 * one file per serial, written atomically, never overwritten. The roster in force is the highest
 * serial whose signatures hold under this node's governance, re-checked on every read, so a
 * file edited by hand or a roster written by `roster publish` while `serve` runs is judged the
 * same way. Keeping every serial lets a node tell which serial removed an origin.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Governance } from "../config/types.js";
import { ensureDir, writeFileAtomic } from "../store/atomic-file.js";
import { admitRoster, checkSignatures, type RosterRefusal } from "./check.js";
import { parseRoster, ROSTER_LIMITS, type Roster } from "./document.js";

const FILE = /^([1-9][0-9]{0,15})\.json$/;

/** The directory of `stateDir` that holds rosters. */
export function rosterDir(stateDir: string): string {
  return join(stateDir, "roster");
}

/**
 * The highest serial among the held roster files' names, without reading them (0 when none):
 * serve polls this every few seconds and reads the files only when it grew.
 */
export async function highestHeldSerial(stateDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(rosterDir(stateDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
  return Math.max(0, ...names.flatMap((n) => {
    const m = FILE.exec(n);
    return m === null ? [] : [Number(m[1])];
  }));
}

/** What reading the held rosters found. */
export interface HeldRosters {
  /** Valid rosters, lowest serial first; the last is in force. */
  valid: Roster[];
  /** Files that did not hold a valid roster, with why (they are never in force). */
  invalid: Array<{ file: string; reason: string }>;
}

/**
 * Reads and checks every held roster. A node without governance holds none in force.
 * @example const { valid } = await readRosters(stateDir, config.federation.governance); valid.at(-1)
 */
export async function readRosters(stateDir: string, governance: Governance | undefined): Promise<HeldRosters> {
  const out: HeldRosters = { valid: [], invalid: [] };
  if (governance === undefined) return out;
  let names: string[];
  try {
    names = await readdir(rosterDir(stateDir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw e;
  }
  const serials = names.flatMap((n) => {
    const m = FILE.exec(n);
    return m === null ? [] : [Number(m[1])];
  });
  for (const serial of serials.sort((a, b) => a - b)) {
    const file = join(rosterDir(stateDir), `${serial}.json`);
    const text = await readFile(file, "utf8");
    let json: unknown;
    try {
      json = text.length > ROSTER_LIMITS.maxBytes ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const p = parseRoster(json);
    if (!p.ok) {
      out.invalid.push({ file, reason: p.reason });
      continue;
    }
    if (p.roster.serial !== serial) {
      out.invalid.push({ file, reason: `holds serial ${p.roster.serial}` });
      continue;
    }
    const s = checkSignatures(p.roster, governance);
    if (!s.ok) out.invalid.push({ file, reason: s.reason });
    else if (out.valid.length > 0 && out.valid.at(-1)!.federation !== p.roster.federation) out.invalid.push({ file, reason: `is for federation ${p.roster.federation}` });
    else out.valid.push(p.roster);
  }
  return out;
}

export type InstallResult = { outcome: "installed"; roster: Roster; previous?: Roster; signers: string[] } | { outcome: "same"; roster: Roster } | { outcome: "refused"; code: RosterRefusal; reason: string };

/**
 * Checks `candidate` against the roster in force and, when it is newer and valid, stores it,
 * which puts it in force. Refused: nothing is written.
 * @example const r = await installRoster(stateDir, governance, offered, nowS); if (r.outcome === "refused") log(r.reason)
 */
export async function installRoster(stateDir: string, governance: Governance | undefined, candidate: Roster, now: number): Promise<InstallResult> {
  const held = await readRosters(stateDir, governance);
  const current = held.valid.at(-1);
  const r = admitRoster(current, candidate, governance, now);
  if (!r.ok) return { outcome: "refused", code: r.code, reason: r.reason };
  if (r.same) return { outcome: "same", roster: candidate };
  await ensureDir(rosterDir(stateDir));
  await writeFileAtomic(join(rosterDir(stateDir), `${candidate.serial}.json`), `${JSON.stringify(candidate, null, 2)}\n`);
  return { outcome: "installed", roster: candidate, ...(current === undefined ? {} : { previous: current }), signers: r.signers };
}
