/**
 * What the chaos run needs of the machine (docs/RELIABILITY.md §Chaos): Linux, root, `ip` with
 * network namespaces, and the Debian packages iptables, iproute2 (tc) and faketime, which it
 * installs as root when they are missing. The test of the short run asks `cannotRun()` and says
 * why it is skipped instead of failing on a machine that cannot have namespaces.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { deleteNamespace } from "./net.js";

/** A run that cannot start: exit 2 with the message. */
export class UsageError extends Error {}

/** Installs a missing Debian package as root, or says which one is missing. */
export function need(tool: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0) return;
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) throw new UsageError(`the chaos run needs ${tool} (Debian package ${pkg}): apt-get install ${pkg}`);
  console.error(`chaos: installing the Debian package ${pkg} (for ${tool})`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", pkg]]) {
    if (spawnSync("apt-get", args, { stdio: "inherit", env }).status !== 0) throw new UsageError(`apt-get ${args.join(" ")} failed: install ${pkg} and run again`);
  }
}

/** Why this machine cannot run the chaos test, or undefined when it can (tools may still be installed). */
export function cannotRun(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (run as root or with sudo)";
  if (spawnSync("sh", ["-c", "command -v ip"]).status !== 0) return "the `ip` command (Debian package iproute2) is missing";
  const probe = `vc${process.pid}-probe`;
  const r = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  deleteNamespace(probe);
  return undefined;
}

