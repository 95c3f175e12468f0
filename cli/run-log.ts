/**
 * What `dm-agent run` prints while it keeps running: what the agent waits for (the poll window,
 * the battery, external power, the network), each install, upgrade and removal, each failure.
 * One timestamped line per event; a wait is announced when its reason changes, not at every
 * recheck of the same condition.
 */
import type { DeliveryEvent } from '../agent/index.ts';
import { errorText } from './io.ts';

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const WAITS: Record<string, (delay: string) => string> = {
  boot: (d) => `first poll in ${d}`,
  interval: (d) => `next poll in ${d}`,
  manager: (d) => `next poll in ${d} (the manager asked for it)`,
  backoff: (d) => `retrying in ${d}`,
  window: (d) => `waiting for the poll window (opens in ${d})`,
  networkDown: (d) => `waiting for the network (checking again in ${d})`,
  metered: (d) => `waiting for an unmetered network (checking again in ${d})`,
  needsExternalPower: (d) => `waiting for external power (checking again in ${d})`,
  batteryLow: (d) => `waiting for the battery to charge (checking again in ${d})`,
};

const DONE: Record<string, string> = { install: 'installed', upgrade: 'upgraded', remove: 'removed' };

/** An event handler that writes the lines through `write` (already newline-terminated). */
export function createRunLog(write: (line: string) => void, now: () => Date = () => new Date()): (event: DeliveryEvent) => void {
  let lastWait: string | undefined;
  const line = (text: string) => write(`${now().toISOString()} ${text}\n`);
  return (event) => {
    switch (event.kind) {
      case 'waiting': {
        if (event.reason === lastWait && !['interval', 'manager', 'backoff'].includes(event.reason)) return;
        lastWait = event.reason;
        const describe = Object.prototype.hasOwnProperty.call(WAITS, event.reason) ? WAITS[event.reason] : undefined;
        line(describe ? describe(formatDuration(event.delayMs)) : `waiting (${event.reason}, ${formatDuration(event.delayMs)})`);
        return;
      }
      case 'plan':
        lastWait = undefined;
        if (event.install + event.upgrade + event.remove > 0) line(`plan: ${event.install} to install, ${event.upgrade} to upgrade, ${event.remove} to remove, ${event.keep} up to date`);
        return;
      case 'jobEnd':
        if (event.ok) line(`${DONE[event.action] ?? event.action} ${event.name} ${event.version}`);
        return;
      case 'cycleEnd':
        for (const failure of event.summary.failed) line(`FAILED to ${failure.action ?? 'install'} ${failure.name} ${failure.version}: ${failure.reason}`);
        return;
      case 'cycleFailed':
        lastWait = undefined;
        line(`poll failed: ${errorText(event.error)}`);
        return;
      default:
        return;
    }
  };
}
