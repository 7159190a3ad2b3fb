/**
 * Bidirectional-text controls in text a peer chose (docs/FEDERATION_SEMANTICS.md §6. Threat model):
 * a right-to-left override (U+202E) in a peer's /health `node`, an anchor memo or an error message
 * would reorder every character printed after it on the same line. Terminals get such controls
 * shown as their escapes; the explorer isolates the text instead (docs/EXPLORER.md §Peer-controlled text).
 * Pure: no I/O.
 */

/** Embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), and the LRM/RLM marks (U+200E, U+200F). */
export const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/g;

/**
 * `text` with every bidi control written as its escape, `\u202e`. Applied to JSON text it
 * changes no string: the escape is JSON's own spelling of the same character.
 * @example escapeBidi("a\u202eb") // "a\\u202eb"
 */
export function escapeBidi(text: string): string {
  return text.replace(BIDI_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** C0 and C1 control characters and DEL: in a terminal, ESC starts a sequence that can rewrite the screen. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character (line breaks included) written as its escape, for one line
 * of a peer's words in `status` and the explorer (a peer's /health answer, lib/federation/peer-health.ts).
 * @example escapeControls("a\u001b[2Jb") // "a\\u001b[2Jb"
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
