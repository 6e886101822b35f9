/** A progress bar on stderr — drawn only when that stream is a terminal. */
export interface Progress {
  tick(n?: number): void;
  done(): void;
}

const WIDTH = 24;
const REDRAW_MS = 100;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.ceil(seconds - m * 60)).padStart(2, '0')}s`;
}

/**
 * `[#####-------] 1234/5000 24% 3400/s ETA 2s`, redrawn in place at most every 100 ms.
 * Nothing at all when `stream.isTTY` is not true: a pipe or a file gets no control
 * characters mixed into its diagnostics.
 */
export function progressBar(stream: NodeJS.WritableStream, total: number): Progress {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  if (!tty) return { tick: () => undefined, done: () => undefined };
  const started = performance.now();
  let count = 0;
  let drawn = 0;
  const draw = (): void => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const share = total > 0 ? Math.min(1, count / total) : 1;
    const filled = Math.round(share * WIDTH);
    const eta = rate > 0 ? (total - count) / rate : Number.POSITIVE_INFINITY;
    stream.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${count}/${total} ` +
        `${Math.floor(share * 100)}% ${Math.round(rate)}/s ETA ${duration(eta)}\u001b[K`,
    );
  };
  return {
    tick(n = 1) {
      count += n;
      const now = performance.now();
      if (now - drawn >= REDRAW_MS) {
        drawn = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}
