/**
 * A hunt's phases with their times: one line per finished phase on stderr, and on a terminal a live
 * line redrawn while a phase runs ("kcrumb: round 1: boot 12.3 s").
 */
import { paint, type Output } from '../output.js';

export class Phases {
  /** ms per phase, by "round N: phase". */
  readonly times: Record<string, number> = {};
  private ticker?: NodeJS.Timeout;

  constructor(private readonly output: Output, private readonly quiet: boolean) {}

  /** Runs `work` as phase `name`; `done` words the finished line from the result. */
  async run<T>(name: string, work: () => Promise<T> | T, done: (result: T) => string): Promise<T> {
    const started = Date.now();
    if (this.output.interactive && !this.quiet) {
      const draw = () => this.output.status(`\r\x1b[Kkcrumb: ${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
      draw();
      this.ticker = setInterval(draw, 200);
    }
    try {
      const result = await work();
      const ms = Date.now() - started;
      this.times[name] = ms;
      this.say(`kcrumb: ${name}: ${done(result)} ${paint(this.output, 'dim', `(${(ms / 1000).toFixed(1)} s)`)}`);
      return result;
    } finally {
      this.times[name] ??= Date.now() - started;
      this.stopTicker();
    }
  }

  say(line: string): void {
    this.stopTicker();
    if (!this.quiet) this.output.err(line);
  }

  private stopTicker(): void {
    if (!this.ticker) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.output.status('\r\x1b[K');
  }
}
