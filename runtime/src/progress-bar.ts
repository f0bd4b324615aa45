/**
 * A one-line progress bar for the terminal (weight loading, kernel builds). On a TTY it redraws
 * in place at most every `intervalMs` (100 ms: ~10×/s); elsewhere (logs, pipes, CI) it prints a
 * plain line each time another 10% is done, so a log gets about ten lines, not thousands.
 */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBarOptions {
  readonly label: string;
  readonly total: number;
  /** process.stderr by default. */
  readonly stream?: ProgressStream;
  /** How amounts print: bytes (KiB, MiB, GiB) or plain counts. */
  readonly unit?: 'bytes' | 'items';
  readonly intervalMs?: number;
  /** Milliseconds; Date.now by default (tests inject a clock). */
  readonly now?: () => number;
}

const BAR_WIDTH = 24;

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastTenth = 0;
  private done = 0;
  private detail = '';
  private finished = false;

  constructor(private readonly options: ProgressBarOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 100;
    this.started = this.now();
  }

  /** Fits the loader's onProgress: `(done, total, name) => bar.update(done, name)`. */
  update(done: number, detail = ''): void {
    if (this.finished) return;
    this.done = done;
    this.detail = detail;
    if (this.tty) {
      const t = this.now();
      if (t - this.lastDraw < this.intervalMs) return;
      this.lastDraw = t;
      this.draw();
      return;
    }
    const tenth = Math.min(10, Math.floor((this.fraction() * 10) + 1e-9));
    if (tenth > this.lastTenth && tenth < 10) {
      this.lastTenth = tenth;
      this.stream.write(`${this.plainLine()}\n`);
    }
  }

  /** Draws the final state and ends the line; later updates are ignored. */
  finish(detail = this.detail): void {
    if (this.finished) return;
    this.finished = true;
    this.done = Math.max(this.done, this.options.total);
    this.detail = detail;
    if (this.tty) {
      this.draw();
      this.stream.write('\n');
    } else {
      this.stream.write(`${this.plainLine()}\n`);
    }
  }

  private fraction(): number {
    return this.options.total > 0 ? Math.min(1, this.done / this.options.total) : 1;
  }

  private amounts(): string {
    const fmt = this.options.unit === 'items' ? String : formatBytes;
    const secs = (this.now() - this.started) / 1000;
    const rate = secs > 0 && this.options.unit !== 'items' ? ` ${formatBytes(this.done / secs)}/s` : '';
    return `${fmt(this.done)}/${fmt(this.options.total)}${rate}`;
  }

  private plainLine(): string {
    const detail = this.detail ? ` ${this.detail}` : '';
    return `${this.options.label}: ${Math.floor(this.fraction() * 100)}% (${this.amounts()})${detail}`;
  }

  private draw(): void {
    const filled = Math.round(this.fraction() * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
    const percent = `${Math.floor(this.fraction() * 100)}%`.padStart(4);
    let line = `${this.options.label} ${bar} ${percent} ${this.amounts()}${this.detail ? ` ${this.detail}` : ''}`;
    const columns = this.stream.columns ?? 80;
    if (line.length > columns - 1) line = line.slice(0, Math.max(0, columns - 2)) + '…';
    this.stream.write(`\r${line}\x1b[K`);
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}
