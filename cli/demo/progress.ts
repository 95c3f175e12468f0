/**
 * Progress bars for the demo: one line per download, redrawn in place on a terminal, printed
 * at a few milestones otherwise (so logs and CI output stay readable).
 */
export interface ProgressPrinter {
  start(label: string, total: number): void;
  update(label: string, done: number, total: number): void;
  finish(label: string, ok: boolean, note?: string): void;
}

const WIDTH = 28;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function bar(done: number, total: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}`;
}

export function createProgressPrinter(write: (text: string) => void, interactive: boolean): ProgressPrinter {
  const milestones = new Map<string, number>();
  const line = (label: string, text: string) => `  ${label.padEnd(26)} ${text}`;
  return {
    start(label, total) {
      milestones.set(label, -1);
      if (interactive) write(line(label, bar(0, total)));
    },
    update(label, done, total) {
      if (interactive) {
        write(`\r${line(label, bar(done, total))}`);
        return;
      }
      const step = Math.floor((total === 0 ? 1 : done / total) * 4);
      if (step > (milestones.get(label) ?? -1) && step < 4) {
        milestones.set(label, step);
        write(`${line(label, bar(done, total))}\n`);
      }
    },
    finish(label, ok, note) {
      const tail = ok ? '✔' : `✘ ${note ?? ''}`;
      write(interactive ? `  ${tail}\n` : `${line(label, tail)}\n`);
    },
  };
}
