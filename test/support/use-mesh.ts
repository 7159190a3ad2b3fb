/**
 * `useMesh()`: the setup and teardown every federation test file repeated. It registers
 * file-level hooks: before the first test, a throwaway `openssl` TSA and a mesh of real
 * `vmsh-federation serve` processes on 127.0.0.1 (port 0, each node its own config and state
 * directory, see `startMesh`); after the last test, every node is stopped and every directory
 * removed, also when a test or a later hook failed.
 */
import { after, before } from "node:test";
import { startMesh, type Mesh, type MeshNodeSpec, type MeshOptions } from "./mesh.js";
import { createOpensslTsa, type OpensslTsa } from "./openssl-tsa.js";

/** The running mesh (every `Mesh` member) and the TSA its nodes trust. */
export interface UsedMesh extends Mesh {
  readonly tsa: OpensslTsa;
}

/** Mesh options without the trust anchor, which is the TSA `useMesh` makes. */
export type UseMeshOptions = Omit<MeshOptions, "trustPem">;

/**
 * Starts `specs` before the file's tests and stops them after. `options` may be a function,
 * called inside the before hook, for values that exist only then (the URL of a server an
 * earlier step made): on Node 20 the file-level `before` hooks of one file are not run one after
 * another, so a file's own setup that needs the mesh goes in a `describe`-level `before`, and
 * setup the mesh needs goes in that function. Use the handle only inside tests and hooks.
 * @example const mesh = useMesh(LINE_ABC); test("…", async () => { await mesh.node("a").cli("status") })
 */
export function useMesh(specs: MeshNodeSpec[], options: UseMeshOptions | (() => UseMeshOptions | Promise<UseMeshOptions>) = {}): UsedMesh {
  let mesh: Mesh | undefined;
  let tsa: OpensslTsa | undefined;
  const started = (): Mesh => {
    if (mesh === undefined) throw new Error("useMesh: the mesh starts in a before hook; use it inside tests and hooks");
    return mesh;
  };
  before(async () => {
    tsa = createOpensslTsa();
    const extra = typeof options === "function" ? await options() : options;
    mesh = await startMesh(specs, { ...extra, trustPem: tsa.rootPem });
  });
  after(async () => {
    try {
      await mesh?.stop();
    } finally {
      tsa?.cleanup();
    }
  });
  return {
    get root() {
      return started().root;
    },
    get guests() {
      return started().guests;
    },
    get nodes() {
      return started().nodes;
    },
    get tsa() {
      if (tsa === undefined) throw new Error("useMesh: the TSA is made in a before hook; use it inside tests and hooks");
      return tsa;
    },
    node: (name) => started().node(name),
    writePeers: (name, entries) => started().writePeers(name, entries),
    setQuorum: (name, quorum) => started().setQuorum(name, quorum),
    stop: () => started().stop(),
  };
}
