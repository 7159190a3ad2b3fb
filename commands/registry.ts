/**
 * The subcommands, one row each: the name, what `--help` lists for it, and the module that
 * builds it. A module is imported only when its command runs (or its own help is asked for),
 * so `--help` and each command load only what they use (docs/BENCHMARKS.md, command line start).
 * A new subcommand is one row here; test/cli/registry.test.ts checks every row against its module.
 */
import type { Command } from "commander";
import type { CommandContext } from "./context.js";

export type RunCommand = (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>;

export interface CommandRow {
  /** What the program's --help lists: the command's term and its description (both as the module builds them). */
  term: string;
  summary: string;
  load(): Promise<(run: RunCommand) => Command>;
}

export const COMMANDS: Readonly<Record<string, CommandRow>> = {
  init: {
    term: "init [options]",
    summary: "create this node's Ed25519 key pair and a commented configuration",
    load: async () => (await import("./init.js")).initCommand,
  },
  status: {
    term: "status",
    summary: "show this node's identity, namespaces, peers (reachable? latency, last sync) and what it stores",
    load: async () => (await import("./status.js")).statusCommand,
  },
  announce: {
    term: "announce [options]",
    summary: "ingest a sealed batch, verify it locally, store it and announce it to the routed peers",
    load: async () => (await import("./announce.js")).announceCommand,
  },
  sync: {
    term: "sync [options]",
    summary: "anti-entropy now: find and fetch what this node lacks from its serving peers",
    load: async () => (await import("./sync.js")).syncCommand,
  },
  "verify-online": {
    term: "verify-online [options]",
    summary: "re-verify every stored anchor against the live chain and TSA endpoints",
    load: async () => (await import("./verify-online.js")).verifyOnlineCommand,
  },
  "verify-proof": {
    term: "verify-proof [options] <file>",
    summary: "check a proof file offline: the origin's checkpoint, the receipt, inclusion, anchors, witnesses",
    load: async () => (await import("./verify-proof.js")).verifyProofCommand,
  },
  trust: {
    term: "trust",
    summary: "the trust policy a stranger checks proof files against",
    load: async () => (await import("./trust.js")).trustCommand,
  },
  seal: {
    term: "seal [options] [files...]",
    summary: "seal files or event hashes into a batch and receipts in the upstream sealer's format, optionally stamped by a TSA",
    load: async () => (await import("./seal.js")).sealCommand,
  },
  roster: {
    term: "roster",
    summary: "the federation's governed roster: members, keys, roles and namespace routes, signed by k governance keys",
    load: async () => (await import("./roster.js")).rosterCommand,
  },
  serve: {
    term: "serve [options]",
    summary: "run the federation daemon: endpoints, gossip, outbox, anti-entropy, pending re-checks",
    load: async () => {
      // Before the daemon's modules load: docs/BENCHMARKS.md, "Idle serve".
      (await import("./young-generation.js")).holdYoungGeneration();
      // Garbage collected before the old generation grows past 1.5× what lives (docs/FEDERATION_OPERATIONS.md §Memory).
      (await import("./heap-growth.js")).boundHeapGrowth();
      return (await import("./serve.js")).serveCommand;
    },
  },
};

/** Global options that take a value (the token after them is not a command name). */
const VALUE_OPTIONS = new Set(["--config"]);

/**
 * The one command `argv` runs or asks help for (`status …`, `help status`, `status --help`),
 * or undefined when it names none of ours (the program's own help, a version, a usage error).
 * @example commandIn(["--config", "c", "status", "--json"]) // "status"
 */
export function commandIn(argv: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    words.push(a);
    if (a !== "help") break;
  }
  const name = words[0] === "help" ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}
