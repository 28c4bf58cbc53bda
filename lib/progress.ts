/** Progress of long work for a person: done of total, rate, ETA; one line, redrawn on a terminal. */
export interface Progress {
  tick(units?: number, note?: string): void;
  done(summary?: string): void;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function progressLine(
  label: string,
  done: number,
  total: number,
  elapsedSeconds: number,
  unit: string,
): string {
  const width = 24;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  const pct = total === 0 ? 100 : (done / total) * 100;
  return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${unit} ${pct.toFixed(0)}%  ${rate.toFixed(2)}/s  ETA ${duration(eta)}`;
}

/**
 * On a terminal the line is redrawn in place; elsewhere (CI logs, pipes) a line is printed at most
 * every `everySeconds`, so logs stay readable.
 */
export function createProgress(
  label: string,
  total: number,
  unit: string,
  stream = process.stderr,
  everySeconds = 10,
): Progress {
  const started = Date.now();
  let done = 0;
  let lastPrint = 0;
  const tty = Boolean(stream.isTTY);
  const draw = (force: boolean, note?: string) => {
    const now = Date.now();
    if (!force && !tty && now - lastPrint < everySeconds * 1000) return;
    lastPrint = now;
    const line = progressLine(label, done, total, (now - started) / 1000, unit) + (note ? `  ${note}` : "");
    stream.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
  };
  return {
    tick(units = 1, note?: string) {
      done += units;
      draw(false, note);
    },
    done(summary?: string) {
      draw(true);
      if (tty) stream.write("\n");
      if (summary) stream.write(`${summary}\n`);
    },
  };
}
