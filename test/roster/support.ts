/** Governance keys and roster files for the roster tests that run real `serve` processes. */
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { writeKeyFile } from "../../lib/identity/key-file.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import type { MeshNode } from "../support/mesh.js";

export interface GovernanceKeys {
  files: string[];
  lines: string[];
}

/** `n` governance key files (as `init` writes keys) under `dir`. */
export async function governanceKeys(dir: string, n: number): Promise<GovernanceKeys> {
  const files: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = generateNodeKey();
    const file = join(dir, `gov${i + 1}.key`);
    await writeKeyFile(file, key, { force: false });
    files.push(file);
    lines.push(formatKeyLine(key.publicKeyBytes));
  }
  return { files, lines };
}

/** The federation.yaml section for `gov`. */
export const governanceYaml = (k: number, gov: GovernanceKeys): string => `governance:\n  k: ${k}\n  keys: [${gov.lines.map((l) => `"${l}"`).join(", ")}]\n`;

export interface MemberSpec {
  node: MeshNode;
  roles?: string[];
  key?: string;
  next?: string;
}

/**
 * Writes a roster proposal (YAML) and runs `roster propose`, then `roster sign` once per key
 * file, through the CLI of `cliNode` (sign needs no configuration). Returns the signed file.
 */
export async function makeRoster(dir: string, cliNode: MeshNode, name: string, body: { serial: number; issuedAt?: number; expiresAt?: number; members: MemberSpec[]; namespaces?: string }, signWith: string[]): Promise<string> {
  const issuedAt = body.issuedAt ?? Math.floor(Date.now() / 1000) - 60;
  const yaml = [
    "federation: vm-test",
    `serial: ${body.serial}`,
    `issuedAt: ${issuedAt}`,
    ...(body.expiresAt === undefined ? [] : [`expiresAt: ${body.expiresAt}`]),
    "members:",
    ...body.members.flatMap((m) => [
      `  - did: "${m.node.did}"`,
      `    url: "${m.node.url}"`,
      `    keys: { verify: "${m.key ?? m.node.verifyKey}"${m.next === undefined ? "" : `, next: "${m.next}"`} }`,
      `    roles: [${(m.roles ?? ["announce", "serve", "request", "origin"]).join(", ")}]`,
    ]),
    ...(body.namespaces === undefined ? [] : ["namespaces:", body.namespaces]),
  ].join("\n");
  await writeFile(join(dir, `${name}.yaml`), `${yaml}\n`);
  const proposed = await cliNode.cli("roster", "propose", join(dir, `${name}.yaml`));
  assert.equal(proposed.code, 0, proposed.stderr);
  let current = join(dir, `${name}.json`);
  await writeFile(current, proposed.stdout);
  for (const [i, key] of signWith.entries()) {
    const signed = await cliNode.cli("roster", "sign", "--key", key, current);
    assert.equal(signed.code, 0, signed.stderr);
    current = join(dir, `${name}.sig${i + 1}.json`);
    await writeFile(current, signed.stdout);
  }
  return current;
}

/** The roster serial a node's `roster show --json` reports (null: none). */
export async function shownSerial(n: MeshNode): Promise<number | null> {
  const r = await n.cli("roster", "show", "--json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).serial as number | null;
}

/** The roster files a node holds: the state it must not change on a refusal. */
export async function heldRosterFiles(n: MeshNode): Promise<string[]> {
  return (await readdir(join(n.stateDir, "roster")).catch(() => [] as string[])).sort();
}
