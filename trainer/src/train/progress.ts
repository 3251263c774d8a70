// Progress for people: a bar with loss and ETA on a terminal (stderr), plain log lines elsewhere
// (CI, systemd, --json runs), so stdout stays clean either way.
import cliProgress from 'cli-progress';
import type { Logger } from '@kestrel/core/util/log';
import { holdBottomLine } from '@kestrel/core/util/terminal';

export interface ProgressValues {
  loss: number;
  cls: number;
  box: number;
  dfl: number;
  lr: number;
}

export interface Progress {
  startEpoch(epoch: number, epochs: number, steps: number): void;
  step(done: number, v: ProgressValues): void;
  endEpoch(summary: string): void;
  stop(): void;
}

export function createProgress(logger: Logger, interactive = process.stderr.isTTY === true): Progress {
  return interactive ? new BarProgress(logger) : new LogProgress(logger);
}

/**
 * The bar holds the terminal's bottom line while an epoch runs: a log line written meanwhile
 * (a warning from the data loader, the validator) is printed above it and the bar drawn again
 * below, instead of the two overwriting each other. Between epochs nothing holds the line.
 */
class BarProgress implements Progress {
  private bar?: cliProgress.SingleBar;
  private release?: () => void;

  constructor(private readonly logger: Logger) {}

  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.finishBar();
    const bar = new cliProgress.SingleBar(
      { format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} loss {loss} (cls {cls} box {box} dfl {dfl}) lr {lr} ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    this.bar = bar;
    bar.start(steps, 0, { loss: '-', cls: '-', box: '-', dfl: '-', lr: '-' });
    this.release = holdBottomLine({ redraw: () => forceRender(bar) });
  }

  step(done: number, v: ProgressValues): void {
    this.bar?.update(done, { loss: v.loss.toFixed(3), cls: v.cls.toFixed(3), box: v.box.toFixed(3), dfl: v.dfl.toFixed(3), lr: v.lr.toExponential(1) });
  }

  endEpoch(summary: string): void {
    this.finishBar();
    this.logger.info(summary);
  }

  stop(): void {
    this.finishBar();
  }

  /** The finished bar stays on its own line; the next log line starts below it. */
  private finishBar(): void {
    this.release?.();
    this.release = undefined;
    this.bar?.stop();
    this.bar = undefined;
  }
}

class LogProgress implements Progress {
  private epoch = 0;
  private epochs = 0;
  private steps = 0;
  private started = 0;
  private lastLog = 0;

  constructor(private readonly logger: Logger) {}

  startEpoch(epoch: number, epochs: number, steps: number): void {
    Object.assign(this, { epoch, epochs, steps, started: Date.now(), lastLog: Date.now() });
  }

  step(done: number, v: ProgressValues): void {
    const now = Date.now();
    if (now - this.lastLog < 15000 && done < this.steps) return;
    this.lastLog = now;
    const eta = ((now - this.started) / done) * (this.steps - done) / 1000;
    this.logger.info({ epoch: this.epoch + 1, epochs: this.epochs, step: done, steps: this.steps, loss: round(v.loss), cls: round(v.cls), box: round(v.box), dfl: round(v.dfl), lr: v.lr, etaSeconds: Math.round(eta) }, 'training');
  }

  endEpoch(summary: string): void {
    this.logger.info(summary);
  }

  stop(): void {}
}

/**
 * The base bar's render(true). SingleBar's own render() redraws only when the text changed, and
 * after a log line took the bar's place the text is the same but the line is gone. cli-progress
 * does not export its GenericBar at run time, so it is reached through SingleBar's prototype.
 */
const genericRender = (Object.getPrototypeOf(cliProgress.SingleBar.prototype) as { render(this: cliProgress.SingleBar, force?: boolean): void }).render;
function forceRender(bar: cliProgress.SingleBar): void {
  // The bar saved the cursor where it started and goes back there when it stops: that is now this
  // line (the log line took the old one), so save it again (ESC 7, as cli-progress does).
  process.stderr.write('\x1b7');
  genericRender.call(bar, true);
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
