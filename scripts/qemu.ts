/**
 * `npm run qemu -- --board qemu-arm64 [dm-agent run options]`: runs the agent (bin/dm-agent.js → dist/cli.js, the
 * Node HAL) on ARM Node under QEMU user mode, e.g.
 *   npm run qemu -- --board qemu-armv7 --config config.json --once
 * The board file defaults to boards/<board>.json. Needs `npm run build` and the Debian packages
 * of test/setup/system-deps.sh (qemu-user-static and the cross libraries).
 */
import { spawn } from 'node:child_process';
import { archOfBoard, qemuCommand } from './qemu-node.ts';

const args = process.argv.slice(2);
const index = args.indexOf('--board');
const board = index >= 0 ? args[index + 1] : undefined;
const arch = board ? archOfBoard(board) : undefined;
if (!board || !arch) {
  console.error('usage: npm run qemu -- --board qemu-arm64|qemu-armv7 --config <config.json> [dm-agent run options]');
  process.exit(2);
}
const rest = [...args.slice(0, index), ...args.slice(index + 2)];
const { command, args: qemuArgs } = await qemuCommand(arch, ['bin/dm-agent.js', 'run', '--board', `boards/${board}.json`, ...rest]);
const child = spawn(command, qemuArgs, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
