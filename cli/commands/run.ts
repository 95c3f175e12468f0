/**
 * `dm-agent run --board <board.json> --config <config.json>`: the agent on a Linux board (or a
 * QEMU guest) with the Node HAL. Host-side settings that are not the agent's business (where the
 * flash image lives, the device id, readable roots, a CA) come as options. A reboot request ends
 * the process with REBOOT_EXIT_CODE (75) after the agent stopped; the board's service manager
 * (or `--restart`) starts it again, which is the "boot" the agent resumes from.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Agent, createAgent } from '../../agent/index.ts';
import { createNodeDevice, REBOOT_EXIT_CODE } from '../../hal/node/index.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileErrorReason, parseOptions } from '../io.ts';

const USAGE = `usage: dm-agent run --board <board.json> --config <config.json> [options]
  --work-dir DIR     flash image, staging and boot record (default .work/<board name>)
  --device-id ID     device identity (default: /etc/machine-id or the host name)
  --file-root DIR    a root readable by file-collection reports (repeatable, comma-separated)
  --ca FILE          extra CA certificate (PEM) trusted for https:// managers
  --once             poll once, print the summary as JSON, exit
  --info             print the system information (agent, families, firmware version and last update) as JSON, exit
`;

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${what} ${file}: ${fileErrorReason(error)}`);
  }
}

class UsageError extends Error {}

export async function run(args: string[], io: CommandIo, signal?: AbortSignal): Promise<number> {
  const { options, positional, unknown } = parseOptions(args, ['once', 'info'], ['board', 'config', 'work-dir', 'device-id', 'file-root', 'ca']);
  if (unknown.length > 0 || positional.length > 0 || typeof options.board !== 'string' || typeof options.config !== 'string') {
    io.stderr(`${[...unknown, ...positional.map((p) => `unexpected argument ${p}`)].join('\n')}${unknown.length + positional.length ? '\n' : ''}${USAGE}`);
    return EXIT_USAGE;
  }
  let agent: Agent | undefined;
  let rebootRequested = false;
  const stopped = new AbortController();
  try {
    const board = (await readJson(options.board, 'board')) as { name?: string; flash: never; partitions: never };
    const config = await readJson(options.config, 'config');
    const workDir = resolve(typeof options['work-dir'] === 'string' ? options['work-dir'] : `.work/${board.name ?? 'board'}`);
    const ca = typeof options.ca === 'string' ? await readFile(options.ca, 'utf8') : undefined;
    const device = await createNodeDevice({
      workDir,
      board,
      ...(typeof options['device-id'] === 'string' ? { identity: { deviceId: options['device-id'] } } : {}),
      ...(typeof options['file-root'] === 'string' ? { fileRoots: options['file-root'].split(',') } : {}),
      ...(ca ? { net: { ca } } : {}),
      onReboot: (reason) => {
        rebootRequested = true;
        io.stderr(`dm-agent: reboot requested (${reason})\n`);
        stopped.abort();
      },
    });
    agent = await createAgent(device, board, config);
    if (options.info) {
      io.stdout(`${JSON.stringify({ ...agent.info(), ...(agent.firmware ? { firmware: await agent.firmware.info() } : {}) }, null, 2)}\n`);
    } else if (options.once) {
      const summary = await agent.pollOnce();
      io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      const stop = () => agent?.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      signal?.addEventListener('abort', stop);
      stopped.signal.addEventListener('abort', stop);
      io.stderr(`dm-agent ${agent.version} running on board ${agent.board.name} (${agent.boot.engine} engine); Ctrl-C stops\n`);
      await agent.run();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    await agent.close();
    await device.close();
    return rebootRequested ? REBOOT_EXIT_CODE : EXIT_OK;
  } catch (error) {
    await agent?.close().catch(() => undefined);
    if (error instanceof UsageError) {
      io.stderr(`dm-agent run: ${error.message}\n`);
      return EXIT_USAGE;
    }
    const code = (error as { code?: unknown }).code;
    io.stderr(`dm-agent run: ${error instanceof Error ? error.message : String(error)}\n`);
    return code === 'badBoard' || code === 'badConfig' || code === 'invalidOptions' ? EXIT_USAGE : EXIT_FAILED;
  }
}
