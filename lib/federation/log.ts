/**
 * The daemon's log: one line per event, human-readable by default (`[federation] …`),
 * or one JSON object per line for journald pipelines (`--log-format json`).
 */
import { escapeBidi } from "../bidi.js";

export type LogFormat = "human" | "json";
export type LogLevel = "info" | "warn" | "error";

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger writing to `stream`; `now` gives the timestamp of JSON lines.
 * @example const log = createLogger("json", process.stderr); log.info("listening", { url })
 */
export function createLogger(format: LogFormat, stream: { write(text: string): unknown }, now: () => Date = () => new Date()): Logger {
  const write = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (format === "json") {
      // Peers' text reaches the log (their DIDs' errors, their messages): bidi controls escaped (lib/bidi.ts).
      stream.write(`${escapeBidi(JSON.stringify({ time: now().toISOString(), level, msg: message, ...fields }))}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    stream.write(escapeBidi(`[federation]${level === "info" ? "" : ` ${level}:`} ${message}${extra ? ` ${extra}` : ""}\n`));
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
