/**
 * `federation.yaml` `governance: { k, keys }`: the keys whose threshold signs the roster
 * (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster). Absent: this node takes
 * no roster and runs on peers.yaml and federation.yaml alone, as before.
 */
import { parseKeyLine } from "../identity/did.js";
import type { Section } from "./problems.js";
import type { Governance } from "./types.js";

/** Validates the section; undefined when absent or invalid (the problems are recorded). */
export function governancePolicy(s: Section): Governance | undefined {
  if (!s.present || !s.mapping(["k", "keys"])) return undefined;
  const kS = s.at("k");
  const k = kS.required()?.integer(1, 64, "a positive integer: how many distinct governance keys must sign a roster");
  const list = s.at("keys");
  const keys: string[] = [];
  const seen = new Set<string>();
  let valid = true;
  (list.required()?.list() ?? []).forEach((_, i) => {
    const line = list.at(i).value;
    const raw = parseKeyLine(line);
    if (typeof raw === "string") {
      valid = false;
      return list.at(i).error(raw);
    }
    const hex = Buffer.from(raw).toString("hex");
    if (seen.has(hex)) {
      valid = false;
      return list.at(i).error("is listed twice: a key counts once toward k");
    }
    seen.add(hex);
    keys.push(line as string);
  });
  if (k === undefined || !valid) return undefined;
  if (k > keys.length) {
    kS.error(`is ${k}, but only ${keys.length} governance key${keys.length === 1 ? " is" : "s are"} listed: no roster could ever be valid`);
    return undefined;
  }
  return { k, keys };
}
