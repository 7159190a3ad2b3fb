/**
 * `vmsh-federation roster propose|sign|publish|show|verify`: the federation's governed roster
 * (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster). `propose` and `sign`
 * need no node and no configuration (a governance key holder signs offline); `publish`, `show`
 * and `verify` judge a roster by this node's `governance` and the rosters it holds.
 */
import { Command } from "commander";
import { UsageError, VmshError } from "../lib/errors.js";
import { formatKeyLine, parseKeyLine } from "../lib/identity/did.js";
import { importPrivateKeyPem, type NodeKey } from "../lib/identity/keys.js";
import { parseYaml } from "../lib/config/yaml.js";
import { admitRoster } from "../lib/roster/check.js";
import { parseRoster, proposeRoster, ROSTER_LIMITS, type Roster } from "../lib/roster/document.js";
import { MAX_KEY_FILE_BYTES, readBoundedFile } from "../lib/bounded-file.js";
import { installRoster, readRosters } from "../lib/roster/roster-files.js";
import { signRoster } from "../lib/roster/signature.js";
import type { CommandContext } from "./context.js";
import { table, type Printer } from "./output.js";

type Run = (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>;

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * A file handed to a roster command, read at most one byte past the roster bound whatever the
 * path names (a FIFO that a writer keeps open, /dev/zero), a key file at most the key bound: exit 2 naming the file when it is
 * larger or cannot be read (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster).
 */
async function readText(file: string, what: string, maxBytes = ROSTER_LIMITS.maxBytes): Promise<string> {
  const r = await readBoundedFile(file, maxBytes);
  if (r.ok) return r.text;
  throw new UsageError(`${what} ${file} ${r.why}`);
}

/** A roster file: refused (exit 1) with the reason when it is not a well-formed roster. */
async function readRosterFile(file: string): Promise<Roster> {
  const text = await readText(file, "roster");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VmshError("ROSTER_REFUSED", `${file}: not JSON; a roster is the JSON that roster propose and roster sign print`);
  }
  const p = parseRoster(json);
  if (!p.ok) throw new VmshError("ROSTER_REFUSED", `${file}: ${p.reason}`);
  return p.roster;
}

/** A governance key file: PKCS#8 PEM as `init` writes the node key. */
async function readGovernanceKey(file: string): Promise<NodeKey> {
  const pem = await readText(file, "--key file", MAX_KEY_FILE_BYTES);
  try {
    return importPrivateKeyPem(pem);
  } catch (cause) {
    throw new UsageError(`--key: ${file} is not an Ed25519 private key in PEM form (as init writes keys/node.key)`, { cause });
  }
}

export async function rosterPropose(file: string): Promise<Roster> {
  const parsed = parseYaml(await readText(file, "roster proposal"), file);
  if (!parsed.ok) throw new UsageError(parsed.message);
  const r = proposeRoster(parsed.value);
  if (!r.ok) throw new UsageError(`${file}: ${r.reason}`);
  return r.roster;
}

export async function rosterSign(keyFile: string, file: string): Promise<Roster> {
  const key = await readGovernanceKey(keyFile);
  const roster = await readRosterFile(file);
  const mine = Buffer.from(key.publicKeyBytes).toString("hex");
  if (roster.sigs.some((s) => Buffer.from(parseKeyLine(s.key) as Uint8Array).toString("hex") === mine)) throw new UsageError(`${file} is already signed by ${formatKeyLine(key.publicKeyBytes)}: a key counts once`);
  return signRoster(roster, key);
}

export interface RosterPublishResult {
  outcome: "installed" | "same";
  serial: number;
  previousSerial?: number;
  signers?: string[];
}

export async function rosterPublish(ctx: CommandContext, file: string): Promise<RosterPublishResult> {
  const config = await ctx.loadConfig();
  const roster = await readRosterFile(file);
  const r = await installRoster(config.federation.mesh.stateDir, config.federation.governance, roster, nowS());
  if (r.outcome === "refused") throw new VmshError("ROSTER_REFUSED", `${file}: refused (${r.code}): ${r.reason}; nothing changed`, { details: r.code });
  if (r.outcome === "same") return { outcome: "same", serial: roster.serial };
  return { outcome: "installed", serial: roster.serial, ...(r.previous === undefined ? {} : { previousSerial: r.previous.serial }), signers: r.signers };
}

export interface RosterShowResult {
  /** The serial in force; null when no roster is (peers.yaml and federation.yaml alone). */
  serial: number | null;
  federation?: string;
  issuedAt?: number;
  expiresAt?: number;
  expired?: boolean;
  members: Roster["members"];
  namespaces?: Roster["namespaces"];
  /** Held roster files that are not valid under this node's governance. */
  invalid: Array<{ file: string; reason: string }>;
}

export async function rosterShow(ctx: CommandContext): Promise<RosterShowResult> {
  const config = await ctx.loadConfig();
  const held = await readRosters(config.federation.mesh.stateDir, config.federation.governance);
  const r = held.valid.at(-1);
  if (r === undefined) return { serial: null, members: [], invalid: held.invalid };
  return {
    serial: r.serial,
    federation: r.federation,
    issuedAt: r.issuedAt,
    ...(r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt, expired: nowS() >= r.expiresAt }),
    members: r.members,
    namespaces: r.namespaces,
    invalid: held.invalid,
  };
}

export interface RosterVerifyResult {
  file: string;
  ok: boolean;
  serial: number;
  /** In force already (same serial and content). */
  inForce?: boolean;
  code?: string;
  reason?: string;
  signers?: string[];
}

export async function rosterVerify(ctx: CommandContext, file: string): Promise<RosterVerifyResult> {
  const config = await ctx.loadConfig();
  const roster = await readRosterFile(file);
  const held = await readRosters(config.federation.mesh.stateDir, config.federation.governance);
  const r = admitRoster(held.valid.at(-1), roster, config.federation.governance, nowS());
  if (!r.ok) return { file, ok: false, serial: roster.serial, code: r.code, reason: r.reason };
  return { file, ok: true, serial: roster.serial, inForce: r.same, signers: r.signers };
}

function printShow(out: Printer, r: RosterShowResult): void {
  if (out.json) return out.document(r);
  for (const x of r.invalid) out.warn(`${x.file}: not valid under this node's governance: ${x.reason}`);
  if (r.serial === null) {
    out.line("no roster in force: peers.yaml and federation.yaml decide admission and routes");
    return;
  }
  out.line(`roster serial ${r.serial} of federation ${r.federation}, issued ${new Date(r.issuedAt! * 1000).toISOString()}${r.expiresAt === undefined ? "" : `, ${r.expired ? out.color.red("EXPIRED") : "expires"} ${new Date(r.expiresAt * 1000).toISOString()}`}`);
  out.line(table(["member", "url", "roles", "key", "next key"], r.members.map((m) => [m.did, m.url ?? "", m.roles.join(","), m.keys.verify, m.keys.next ?? ""])));
  const ns = Object.entries(r.namespaces ?? {});
  if (ns.length > 0) out.line(`\n${table(["namespace", "members", "origins", "quorum", "routing"], ns.map(([p, n]) => [p, n.members?.join(",") ?? "all", n.origins?.join(",") ?? "default", n.quorum === undefined ? "" : `${n.quorum.k} of ${n.quorum.witnesses.length}`, n.routing === undefined ? "" : JSON.stringify(n.routing)]))}`);
}

export function rosterCommand(run: Run): Command {
  const cmd = new Command("roster")
    .description("the federation's governed roster: members, keys, roles and namespace routes, signed by k governance keys")
    .addHelpText(
      "after",
      `
A roster is valid with k distinct signatures of the governance keys in federation.yaml
(governance: { k, keys }); the highest valid serial is in force and is applied by serve at
once (admission, roles, origins, witnesses, quorum, routes); peers.yaml can only narrow it.
The examples sign with two governance keys (k = 2).

Examples:
  $ vmsh-federation roster propose roster.yaml > r.json
  $ vmsh-federation roster sign --key gov1.key r.json > r1.json      # offline, no node needed
  $ vmsh-federation roster sign --key gov2.key r1.json > r2.json
  $ vmsh-federation roster verify r2.json
  $ vmsh-federation roster publish r2.json
  $ vmsh-federation roster show --json\n`,
    );
  cmd
    .command("propose")
    .description("print the unsigned roster (JSON) for FILE.yaml: the roster's fields without type, v and sigs")
    .argument("<file>", "YAML: federation, serial, issuedAt, expiresAt?, members, namespaces?")
    .action(async (file: string) =>
      run(async (ctx) => {
        ctx.out.document(await rosterPropose(file));
        return 0;
      }),
    );
  cmd
    .command("sign")
    .description("print ROSTER.json with one more signature by a governance key (works offline)")
    .requiredOption("--key <keyfile>", "governance key file: an Ed25519 PKCS#8 PEM as init writes")
    .argument("<roster>", "roster JSON from roster propose or an earlier roster sign")
    .action(async (file: string, opts: { key: string }) =>
      run(async (ctx) => {
        ctx.out.document(await rosterSign(opts.key, file));
        return 0;
      }),
    );
  cmd
    .command("publish")
    .description("store ROSTER.json on this node and put it in force (serve applies it and spreads it)")
    .argument("<roster>", "signed roster JSON")
    .action(async (file: string) =>
      run(async (ctx) => {
        const r = await rosterPublish(ctx, file);
        if (ctx.out.json) ctx.out.document(r);
        else ctx.out.line(r.outcome === "same" ? `roster serial ${r.serial} is already in force` : `roster serial ${r.serial} in force${r.previousSerial === undefined ? "" : ` (was ${r.previousSerial})`}, signed by ${r.signers!.length} governance key${r.signers!.length === 1 ? "" : "s"}`);
        return 0;
      }),
    );
  cmd
    .command("show")
    .description("print the roster in force (serial, members, namespaces)")
    .action(async () =>
      run(async (ctx) => {
        printShow(ctx.out, await rosterShow(ctx));
        return 0;
      }),
    );
  cmd
    .command("verify")
    .description("check ROSTER.json against this node's governance and the roster in force; exit 1 when it would be refused")
    .argument("<roster>", "signed roster JSON")
    .action(async (file: string) =>
      run(async (ctx) => {
        const r = await rosterVerify(ctx, file);
        if (ctx.out.json) ctx.out.document(r);
        else ctx.out.line(r.ok ? ctx.out.color.green(`roster serial ${r.serial} is valid${r.inForce ? " and in force" : ""}: signed by ${r.signers!.join(", ")}`) : ctx.out.color.red(`roster serial ${r.serial} refused (${r.code}): ${r.reason}`));
        return r.ok ? 0 : 1;
      }),
    );
  return cmd;
}
