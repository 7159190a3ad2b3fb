/**
 * Test helpers for the explorer: append an `explorer:` block to a mesh node's federation.yaml
 * and deliver it with SIGHUP; GET a path as if from another host (source address 127.0.0.2,
 * which the explorer does not count as this machine: only 127.0.0.1 and ::1 are).
 */
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { waitUntil, type MeshNode } from "./mesh.js";

/** Replaces any `explorer:` block in `n`'s federation.yaml with `yaml` and reloads the node. */
export async function setExplorerConfig(n: MeshNode, yaml: string): Promise<void> {
  const file = join(n.configDir, "federation.yaml");
  const text = (await readFile(file, "utf8")).replace(/\nexplorer:[\s\S]*$/, "\n");
  await writeFile(file, `${text.trimEnd()}\n${yaml}\n`);
  const before = n.logs.filter((l) => /SIGHUP: reloaded/.test(l)).length;
  n.signal("SIGHUP");
  await waitUntil(() => n.logs.filter((l) => /SIGHUP: reloaded/.test(l)).length > before, 10_000, `${n.name} reload`).catch((e: Error) => {
    throw new Error(`${e.message}; last log lines:\n${n.logs.slice(-6).join("\n")}`);
  });
}

/** GET `url` from source address 127.0.0.2 with optional headers; resolves status, headers and body text. */
export function getFromElsewhere(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", headers, localAddress: "127.0.0.2" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
