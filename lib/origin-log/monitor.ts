/**
 * Watching other origins' logs for split views (docs/FEDERATION_SEMANTICS.md §Origin logs):
 * every head an origin signed that this node can see — the origin's own `/log/checkpoint`, the
 * latest head each witness cosigned (`/log/witness/<origin hash>/checkpoint`), the head this
 * node cosigned as a witness — is checked with the origin's key, and two heads of one size with
 * different roots are kept as fork evidence: both notes are signed by the origin, so anyone
 * can check them.
 */
import { createHash } from "node:crypto";
import { parseCheckpoint, type TreeHead } from "../tlog/checkpoint.js";
import { openNote } from "../tlog/note.js";
import type { ForkEvidence } from "../tlog/witness.js";
import { logOrigin, logVerifier } from "./origin-log.js";
import type { WitnessState } from "./witness-state.js";

/** Where one origin's heads can be read. */
export interface HeadSources {
  /** The origin's DID and raw log key. */
  did: string;
  publicKey: Uint8Array;
  /** Full URLs that answer a signed checkpoint note of this origin. */
  urls: string[];
}

/**
 * The URLs of `origin`'s heads at `peerUrls`: its own /log/checkpoint (when it is `originUrl`)
 * and each peer's witness monitoring path.
 * @example headUrls("did:vm:node:a", "http://a", ["http://b", "http://c"])
 */
export function headUrls(did: string, originUrl: string | undefined, peerUrls: readonly string[]): string[] {
  const hash = createHash("sha256").update(logOrigin(did)).digest("hex");
  return [...(originUrl === undefined ? [] : [`${originUrl.replace(/\/$/, "")}/log/checkpoint`]), ...peerUrls.map((u) => `${u.replace(/\/$/, "")}/log/witness/${hash}/checkpoint`)];
}

/**
 * Reads every source of every origin and keeps each new fork; returns the forks found new.
 * Unreachable sources and notes that do not verify are skipped (an unsigned head proves nothing).
 * @example const fresh = await watchForks(sources, fetchText, witnessState)
 */
export async function watchForks(sources: readonly HeadSources[], fetchText: (url: string) => Promise<string | undefined>, state: WitnessState): Promise<ForkEvidence[]> {
  const fresh: ForkEvidence[] = [];
  for (const s of sources) {
    const origin = logOrigin(s.did);
    const verifier = logVerifier(s.did, s.publicKey);
    const notes: string[] = [];
    const mine = await state.latest(origin);
    if (mine !== undefined) notes.push(mine.note);
    for (const url of s.urls) {
      const text = await fetchText(url).catch(() => undefined);
      if (text !== undefined) notes.push(text);
    }
    const bySize = new Map<number, { head: TreeHead; note: string }>();
    for (const note of notes) {
      const opened = openNote(note, [verifier]);
      if (opened.outcome !== "verified") continue;
      const head = parseCheckpoint(opened.text);
      if ("reason" in head || head.origin !== origin) continue;
      const seen = bySize.get(head.size);
      if (seen === undefined) {
        bySize.set(head.size, { head, note });
        continue;
      }
      if (Buffer.compare(Buffer.from(seen.head.rootHash), Buffer.from(head.rootHash)) === 0) continue;
      // Order the pair by content, so every node keeps the same evidence file.
      const [x, y] = [seen.note, note].sort();
      const evidence: ForkEvidence = { kind: "same-size", origin, cosigned: x!, offered: y!, proof: [] };
      if (await state.keepFork(evidence)) fresh.push(evidence);
    }
  }
  return fresh;
}
