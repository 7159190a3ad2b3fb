/**
 * `vmsh-federation init`: make the node's key pair and a commented configuration,
 * and print the DID and the `ed25519:` line peers paste into their peers.yaml.
 */
import { access, mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { isDid } from "../lib/identity/did.js";
import { formatKeyLine } from "../lib/identity/did.js";
import { writeKeyFile } from "../lib/identity/key-file.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { anchorsTemplate, federationTemplate, peersTemplate } from "../lib/config/templates.js";
import { DEFAULTS } from "../lib/config/types.js";
import { stateDirProblem } from "../lib/config/state-dir.js";
import { parseHostPort } from "../lib/config/validate.js";
import { UsageError, VmshError } from "../lib/errors.js";
import type { CommandContext } from "./context.js";
import { requireOwnDir } from "./dir-owner.js";
import type { Printer } from "./output.js";

export interface InitOptions {
  nodeId?: string;
  listen?: string;
  publicUrl?: string;
  stateDir?: string;
  force?: boolean;
}

export interface InitResult {
  nodeId: string;
  verifyKey: string;
  configDir: string;
  listen: string;
  /** The state directory the configuration names (absolute). */
  stateDir: string;
  /** The url peers put in their peers.yaml: --public-url, else http:// and the listen address. */
  url: string;
  /** False when `url` is only the listen address (not given with --public-url). */
  urlIsPublic: boolean;
  files: string[];
}

/** Checks --public-url: an http(s) URL of a host peers can reach, no path, query or credentials. */
function publicUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--public-url: expected a URL such as "https://vm-spawn-a.example.org:8088", got ${JSON.stringify(text)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--public-url: expected http:// or https://, got ${u.protocol}`);
  if (u.username !== "" || u.password !== "") throw new UsageError("--public-url: must not hold credentials (peers add their own in their peers.yaml)");
  if ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") throw new UsageError(`--public-url: expected no path, query or fragment, got ${JSON.stringify(text)}`);
  if (isWildcard(u.hostname)) throw new UsageError(`--public-url: ${u.hostname} is a listen-on-all address, not one peers can connect to; give this host's name or address`);
  return u.origin;
}

/** 0.0.0.0 and [::]: addresses to listen on, never to connect to. */
function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** A DID from the host name: `did:vm:node:<host>` with characters a DID allows. */
export function defaultNodeId(host: string = hostname()): string {
  const id = host.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "") || "node";
  return `did:vm:node:${id}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function init(ctx: CommandContext, options: InitOptions): Promise<InitResult> {
  const nodeId = options.nodeId ?? defaultNodeId();
  if (!isDid(nodeId)) throw new UsageError(`--node-id: expected a DID such as "did:vm:node:vm-spawn-a", got ${JSON.stringify(nodeId)}`);
  const listen = options.listen ?? DEFAULTS.listen;
  if (parseHostPort(listen) === undefined) throw new UsageError(`--listen: expected HOST:PORT such as "127.0.0.1:8088", got ${JSON.stringify(listen)}`);
  const url = options.publicUrl !== undefined ? publicUrl(options.publicUrl) : `http://${listen}`;
  const dir = ctx.configDir;
  // Refused here as the loader would refuse it later (docs/FEDERATION_OPERATIONS.md §Deployment).
  const stateDir = resolve(ctx.io.cwd, options.stateDir ?? resolve(dir, DEFAULTS.stateDir));
  const stateProblem = stateDirProblem(stateDir, dir);
  if (stateProblem !== undefined) throw new UsageError(options.stateDir === undefined ? `the default state directory (${DEFAULTS.stateDir} beside --config) would be ${stateProblem}; pass --state-dir /var/lib/vmsh` : `--state-dir: ${stateProblem}`);
  await requireOwnDir(dir, "configuration directory", `--config ${dir} init …`);
  const keyPath = resolve(dir, DEFAULTS.keyFile);
  const configFiles: Array<[string, string]> = [
    [join(dir, "federation.yaml"), federationTemplate({ nodeId, listen, ...(options.stateDir === undefined ? {} : { stateDir }) })],
    [join(dir, "peers.yaml"), peersTemplate()],
    [join(dir, "anchors.yaml"), anchorsTemplate()],
  ];
  if (!options.force) {
    const present = [];
    for (const p of [keyPath, ...configFiles.map(([p]) => p)]) if (await exists(p)) present.push(p);
    if (present.length > 0) {
      throw new VmshError("INIT_EXISTS", `refusing to overwrite ${present.join(", ")}`);
    }
  }
  const key = generateNodeKey();
  await mkdir(dir, { recursive: true });
  await writeKeyFile(keyPath, key, { force: options.force === true });
  for (const [path, text] of configFiles) await writeFile(path, text, { encoding: "utf8", mode: 0o644 });
  return { nodeId, verifyKey: formatKeyLine(key.publicKeyBytes), configDir: dir, listen, stateDir, url, urlIsPublic: options.publicUrl !== undefined, files: [keyPath, ...configFiles.map(([p]) => p)] };
}

export function printInit(out: Printer, r: InitResult): void {
  if (out.json) return out.document(r);
  out.line(`${out.color.green("Created")} a node identity in ${r.configDir}`);
  out.line();
  out.line(`  node id:  ${out.color.bold(r.nodeId)}`);
  out.line(`  key:      ${r.verifyKey}`);
  out.line(`  listen:   ${r.listen}`);
  out.line(`  state:    ${r.stateDir}`);
  out.line();
  out.line("Peers add this node to their peers.yaml with:");
  out.line(`  - did: "${r.nodeId}"`);
  out.line(`    url: "${r.url}"`);
  out.line("    roles: [announce, serve, request, origin]");
  out.line(`    keys: { verify: "${r.verifyKey}" }`);
  out.line();
  out.line("Nodes that receive this node's batches only through relays add its key as an origin:");
  out.line(`  - did: "${r.nodeId}"`);
  out.line("    roles: [origin]");
  out.line(`    keys: { verify: "${r.verifyKey}" }`);
  out.line("(add the role witness to either entry where a namespace's quorum.witnesses lists this node)");
  out.line();
  out.line("Files written:");
  for (const f of r.files) out.line(`  ${f}`);
  if (!r.urlIsPublic) {
    const host = parseHostPort(r.listen)?.host ?? "";
    const why = isWildcard(host) ? `${host} means "every interface": no peer can connect to it` : "peers on other hosts may not reach it";
    out.warn(`the url printed above is this node's listen address (${r.listen}); ${why}. Run init with --public-url https://<this host>:<port>, or correct the url before sending the entry.`);
  }
}

export function initCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("init")
    .description("create this node's Ed25519 key pair and a commented configuration")
    .option("--node-id <did>", "the node's DID (default: did:vm:node:<hostname>)")
    .option("--listen <host:port>", `address the federation server listens on (default: ${DEFAULTS.listen})`)
    .option("--public-url <url>", "URL peers reach this node at, printed in its peers.yaml entry (default: http:// and --listen)")
    .option("--state-dir <dir>", "where the node keeps its state, written as mesh.state_dir (default: ../state beside --config; never under /etc)")
    .option("--force", "replace an existing key and configuration (a new identity)")
    .addHelpText(
      "after",
      `
Writes federation.yaml, peers.yaml, anchors.yaml and keys/node.key (mode 0600) into the
configuration directory (--config, $VMSH_CONFIG_DIR, or ./vmsh/config), then prints the
lines a peer pastes into its peers.yaml.

Example:
  $ vmsh-federation --config /etc/vmsh init --node-id did:vm:node:vm-spawn-a \\
      --listen 0.0.0.0:8088 --public-url http://vm-spawn-a.example.org:8088 --state-dir /var/lib/vmsh
The state directory may not be inside the configuration directory or under /etc.
On a server, run it as the service user (sudo -u vmsh …) so the daemon can read its key.\n`,
    )
    .action(async (opts: InitOptions) =>
      run(async (ctx) => {
        printInit(ctx.out, await init(ctx, opts));
        return 0;
      }),
    );
}
