/**
 * The one progress line of the CLI, on stderr — drawn only when that stream is a terminal;
 * its clock (elapsed time, rate) runs either way, for the summary a command prints.
 */
export interface Progress {
  /** `n` more done (messages, reports). */
  tick(n?: number): void;
  /** `count` done so far; with a byte total, `position` is how far the input was read. */
  update(count: number, position?: number): void;
  /** Erases the line, so that a message or the summary starts on a clean one. */
  clear(): void;
  /** Draws the last state and ends the line. */
  done(): void;
  /** Seconds since the progress started. */
  elapsedSeconds(): number;
  /** Done per second since the start. */
  rate(): number;
}

export interface ProgressOptions {
  /** What 100% is: a count of items, or with `of: 'bytes'` the input's size; unknown for a pipe. */
  total?: number;
  of?: 'items' | 'bytes';
  /** Said after the count, e.g. `published`. */
  label?: string;
}

const WIDTH = 30;
const REDRAW_MS = 100;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.ceil(seconds - m * 60)).padStart(2, '0')}s`;
}

/**
 * `[#########.....................] 30% 1234/4096 3400/s ETA 2s` (a count of a total),
 * `[#########.....................] 30% 1234 published 3400/s ETA 2s` (a share of the bytes
 * of the input), `1234 published 3400/s` (no total: a pipe), redrawn in place at most every
 * 100 ms. Nothing at all when `stream.isTTY` is not true: a pipe or a file gets no control
 * characters mixed into its diagnostics.
 */
export function progressBar(stream: NodeJS.WritableStream, options: ProgressOptions): Progress {
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  const { total, of = 'items', label } = options;
  const started = performance.now();
  let count = 0;
  let position = 0;
  let drawn = 0;
  const elapsedSeconds = (): number => (performance.now() - started) / 1000;
  const rate = (): number => {
    const elapsed = elapsedSeconds();
    return elapsed > 0 ? count / elapsed : 0;
  };
  const line = (): string => {
    const counted = `${count}${of === 'items' && total !== undefined ? `/${total}` : ''}`;
    const text = `${counted}${label === undefined ? '' : ` ${label}`} ${Math.round(rate())}/s`;
    if (total === undefined) return text;
    const reached = of === 'items' ? count : position;
    const share = total > 0 ? Math.min(1, reached / total) : 1;
    const filled = Math.round(share * WIDTH);
    const eta = share > 0 ? (elapsedSeconds() * (1 - share)) / share : Number.POSITIVE_INFINITY;
    return (
      `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(share * 100)}% ` +
      `${text} ETA ${duration(eta)}`
    );
  };
  const draw = (): void => {
    stream.write(`\r${line()}\u001b[K`);
  };
  const maybeDraw = (): void => {
    if (!tty) return;
    const now = performance.now();
    if (now - drawn < REDRAW_MS) return;
    drawn = now;
    draw();
  };
  return {
    tick(n = 1) {
      count += n;
      maybeDraw();
    },
    update(done, reached) {
      count = done;
      if (reached !== undefined) position = reached;
      maybeDraw();
    },
    clear() {
      if (tty) stream.write('\r\u001b[K');
    },
    done() {
      if (!tty) return;
      draw();
      stream.write('\n');
    },
    elapsedSeconds,
    rate,
  };
}
