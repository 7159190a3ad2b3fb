/**
 * Where the state directory may not be (docs/FEDERATION_OPERATIONS.md §Deployment): inside the
 * configuration directory, or anywhere under /etc, which the shipped systemd unit keeps read-only
 * (`ProtectSystem=strict`) and which backups treat as configuration. Pure: paths are strings.
 */
import { isAbsolute, relative, sep } from "node:path";

/**
 * Why `stateDir` (absolute) cannot hold this node's state with configuration in `configDir`
 * (absolute), or undefined when it can.
 * @example stateDirProblem("/etc/state", "/etc/vmsh") // "/etc/state is under /etc, …"
 * @example stateDirProblem("/var/lib/vmsh", "/etc/vmsh") // undefined
 */
export function stateDirProblem(stateDir: string, configDir: string): string | undefined {
  const rel = relative(configDir, stateDir);
  if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
    return `${stateDir} is inside the configuration directory ${configDir}: state is written all the time, configuration only by its operator; put the state elsewhere, e.g. /var/lib/vmsh`;
  }
  if (stateDir === `${sep}etc` || stateDir.startsWith(`${sep}etc${sep}`)) {
    return `${stateDir} is under /etc, which holds configuration and which the shipped systemd unit keeps read-only (ProtectSystem=strict); put the state in /var/lib/vmsh`;
  }
  return undefined;
}
