/**
 * The node's private key on disk: PKCS#8 PEM, mode 0600, never overwritten by accident.
 */
import { chmod, mkdir, open, stat } from "node:fs/promises";
import { MAX_KEY_FILE_BYTES, readBoundedFile } from "../bounded-file.js";
import { dirname } from "node:path";
import { ConfigError, VmshError } from "../errors.js";
import { exportPrivateKeyPem, importPrivateKeyPem, type NodeKey } from "./keys.js";

/**
 * Writes `key` to `path` with mode 0600 (directory 0700). Refuses an existing file unless `force`.
 * @example await writeKeyFile("vmsh/config/keys/node.key", generateNodeKey(), { force: false })
 */
export async function writeKeyFile(path: string, key: NodeKey, options: { force: boolean }): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const flags = options.force ? "w" : "wx";
  let handle;
  try {
    handle = await open(path, flags, 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") throw new VmshError("KEY_EXISTS", `${path} already exists`, { cause });
    throw cause;
  }
  try {
    await handle.writeFile(exportPrivateKeyPem(key), "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
}

/**
 * Reads the node key named by `mesh.key_file`. Errors name the file and the config key.
 * @example const key = await readKeyFile(config.federation.mesh.keyFile)
 */
export async function readKeyFile(path: string): Promise<NodeKey> {
  const read = await readBoundedFile(path, MAX_KEY_FILE_BYTES);
  if (!read.ok) throw new ConfigError([`federation.yaml: mesh.key_file: ${path} ${read.why}`], read.reason === "missing" ? { details: "missing" } : {});
  const pem = read.text;
  try {
    return importPrivateKeyPem(pem);
  } catch (cause) {
    throw new ConfigError([`federation.yaml: mesh.key_file: ${path} is not an Ed25519 private key in PEM form`], { cause });
  }
}

/** True when the key file can be read by group or others (it should be 0600). */
export async function keyFileTooOpen(path: string): Promise<boolean> {
  const s = await stat(path);
  return (s.mode & 0o077) !== 0;
}
