/** Progress for the main job: bars on a terminal (epoch lines printed above them), plain lines in logs and CI. */
import cliProgress from 'cli-progress';

export type Tick = (epoch: number, line: string, status: string) => void;

export function progress(enabled = true) {
  const tty = enabled && process.stdout.isTTY;
  const bars = tty
    ? new cliProgress.MultiBar(
        { format: '{model} [{bar}] {value}/{total} epochs | {status}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  return {
    /** A bar of `total` epochs; the returned tick updates it and prints the epoch's line. */
    bar(model: string, total: number): Tick {
      const bar = bars?.create(total, 0, { model: model.padEnd(15), status: '' });
      return (epoch, line, status) => {
        bar?.update(epoch, { status });
        if (bars) bars.log(`${line}\n`);
        else if (enabled) console.log(line);
      };
    },
    stop: () => bars?.stop(),
  };
}
