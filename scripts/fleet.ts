/**
 * `npm run fleet -- --agents N [--broker mosquitto|aedes|mock] [--batch N] [--cpu-prof FILE] [--from-source]`: the fleet simulation
 * of bench/fleet.ts, printed. One push wakes every agent; the time until every session is done.
 */
import { FLEET_TARGET_S, type FleetBroker, runFleet as runFleetFromSource } from '../bench/fleet.ts';
import { loadBundledFleet } from '../bench/fleet-bundle.ts';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const agents = Number(option('agents') ?? 1000);
const broker = (option('broker') ?? 'mosquitto') as FleetBroker;
const batch = Number(option('batch') ?? 250);
const cpuProfile = option('cpu-prof');
// The bundle by default (see bench/fleet-bundle.ts); the TypeScript sources through tsx on request.
const fromSource = process.argv.includes('--from-source');
if (!Number.isInteger(agents) || agents < 1 || !['mosquitto', 'aedes', 'mock'].includes(broker) || !Number.isInteger(batch) || batch < 1) {
  console.error('usage: npm run fleet -- --agents N [--broker mosquitto|aedes|mock] [--batch N] [--cpu-prof FILE] [--from-source]');
  process.exit(2);
}
console.log(`fleet: ${agents} agents (mock HAL), broker ${broker}, reference manager in-process, ${fromSource ? 'from the TypeScript sources (tsx)' : 'bundled'}`);
const runFleet = fromSource ? runFleetFromSource : await loadBundledFleet();
const result = await runFleet({ agents, broker, batch, log: (line) => console.log(line), ...(cpuProfile ? { cpuProfile } : {}) });
console.log(`started in ${result.startSeconds.toFixed(1)} s (${result.startCpuSeconds.toFixed(1)} CPU s); RSS ${result.rssMiB.toFixed(0)} MiB, ${result.rssPerAgentKiB.toFixed(0)} KiB per agent`);
console.log(`one push → every session done in ${result.wakeSeconds.toFixed(2)} s (${result.wakeCpuSeconds.toFixed(2)} CPU s; target ≤ ${FLEET_TARGET_S} s for 10 000 agents)`);
