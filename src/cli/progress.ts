/** Where progress is drawn: a terminal (`isTTY`), else nothing is written. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  advance(count: number): void;
  /** Draws the final state and ends the line. */
  done(): void;
}

const REDRAW_MS = 200;

/**
 * One line redrawn in place on a terminal: `seeding 120,000 / 1,000,000 (12 %), 1,540/s, about
 * 9 min left`. Quiet when the stream is not a terminal (a log, a pipe, CI), where a redrawn line
 * would be noise.
 */
export function progress(label: string, total: number, stream: ProgressStream = process.stderr, now: () => number = Date.now): Progress {
  if (!stream.isTTY || total <= 0) return { advance: () => {}, done: () => {} };
  const started = now();
  let count = 0;
  let drawnAt = -Infinity;
  const draw = () => {
    drawnAt = now();
    const seconds = (drawnAt - started) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    const left = rate > 0 && count < total ? `, about ${duration((total - count) / rate)} left` : '';
    stream.write(`\r${label} ${count.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.floor((count / total) * 100)} %)${rate > 0 ? `, ${Math.round(rate).toLocaleString('en')}/s` : ''}${left}\u001b[K`);
  };
  return {
    advance(n) {
      count += n;
      if (now() - drawnAt >= REDRAW_MS) draw();
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
