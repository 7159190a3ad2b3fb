/**
 * A progress bar hides the terminal cursor while it draws; Ctrl-C (SIGINT) or SIGTERM would
 * end the process before the bar's stop() shows it again, leaving the user's shell without a
 * cursor. While guarded, those signals first show the cursor, then take their default course.
 */

const SHOW_CURSOR = "\x1b[?25h";
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Shows the cursor on `stream` if SIGINT or SIGTERM arrives, then lets the signal end the
 * process as it would have. Returns the function that removes the guard.
 * @example const release = guardCursor(process.stderr); try { bar.start(…) } finally { bar.stop(); release(); }
 */
export function guardCursor(stream: { write(text: string): unknown }): () => void {
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      stream.write(SHOW_CURSOR);
      release();
      // With our handler gone the signal's default action applies: the process ends by it.
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  function release(): void {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  return release;
}
