/**
 * The page's access to the node: GET /api/v1/… with the bearer token when one was given,
 * and the live event stream read with fetch (EventSource cannot send an Authorization header).
 */
const TOKEN_KEY = "vmsh-explorer-token";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function headers(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** GETs an API path and parses the JSON answer; a non-2xx answer throws ApiError with the node's message. */
export async function get<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: headers(), cache: "no-store" });
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.code ?? "HTTP", body.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

/** GETs `path` as a Blob (the proof file), with the token, and its `x-vmsh-log` header (logged or unlogged). */
export async function download(path: string): Promise<{ blob: Blob; log: string }> {
  const res = await fetch(path, { headers: headers(), cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, "HTTP", `download failed: HTTP ${res.status}`);
  return { blob: await res.blob(), log: res.headers.get("x-vmsh-log") ?? "" };
}

/**
 * Follows /api/v1/events, calling `onEvent(name, data)` per event and `onState` when the stream
 * opens or drops; reconnects after 3 s. Returns nothing: the stream lives as long as the page.
 */
export function follow(onEvent: (name: string, data: unknown) => void, onState: (live: boolean) => void): void {
  const connect = async (): Promise<void> => {
    try {
      const res = await fetch("/api/v1/events", { headers: headers(), cache: "no-store" });
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      onState(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0) {
            try {
              onEvent(name, JSON.parse(data.join("\n")));
            } catch {
              // A line that is not JSON is not ours to act on.
            }
          }
        }
      }
    } catch {
      // fall through to the reconnect
    }
    onState(false);
    setTimeout(() => void connect(), 3_000);
  };
  void connect();
}
