/**
 * `dm-agent omadm-server`: runs the reference OMA DM 1.2 server (server/omadm) until SIGINT/SIGTERM
 * (or the test's `signal`). With `--notify-udp HOST:PORT` or `--notify-mqtt URL --device ID` it
 * sends package #0 once listening, so one command starts a whole server-initiated session. The
 * journal goes to stdout line by line; secrets come from files and never reach it.
 */
import { startMetadataRefresh } from './server.ts';
import { DeltaMaker } from '../../server/deltas.ts';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { readSecretFile, SecretFileError } from '../../server/auth.ts';
import { type ClientAccount, fumoDownload, get, notificationTopic, packageZero, parseScript, publishMqttPush, type RunningDmServer, sendUdpPush, startDmServer, type Step } from '../../server/omadm/index.ts';
import type { ServedFile } from '../../server/artifacts.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { type CommandIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE, fileProblem, parseOptions, untilStopped } from '../io.ts';

export const spec = {
  name: 'omadm-server',
  summary: 'start the reference OMA DM 1.2 server: dm-agent omadm-server --server-secret-file FILE [--package FILE] [--notify-udp HOST:PORT]',
  args: '--server-secret-file FILE',
  options: [
    { name: 'server-id', value: 'ID', help: 'ServerID in package #0 and the DMAcc (default srv1)' },
    { name: 'server-secret-file', value: 'FILE', help: 'the server secret devices hold in DMAcc (mode 0600; required)' },
    { name: 'client', value: 'NAME', help: 'require syncml:auth-md5 from this client (with --client-secret-file)' },
    { name: 'client-secret-file', value: 'FILE', help: 'the client secret (mode 0600)' },
    { name: 'host', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
    { name: 'port', value: 'N', help: 'listen port (default 0: a free one)' },
    { name: 'package', value: 'FILE', help: 'a FUMO package served at /fumo/<name> with Range' },
    { name: 'metadata', value: 'DIR', help: 'serve the signed update metadata in DIR at /metadata/ (what FUMO clients verify packages against)' },
    { name: 'deltas', value: 'DIR', help: 'serve the package deltas in DIR (dm-agent release sign --deltas DIR) at /fumo/deltas/<sha256>' },
    { name: 'metadata-keys', value: 'DIR', help: 'snapshot.key.json and timestamp.key.json: keep DIR\'s snapshot/timestamp fresh' },
    { name: 'script', value: 'FILE', help: 'session script JSON ({"steps": [[command, …], …]}); default: Get ./DevInfo, then FUMO DownloadAndUpdate of --package' },
    { name: 'encoding', value: 'xml|wbxml', help: 'answer in this encoding (default: the client\'s)' },
    { name: 'notify-udp', value: 'HOST:PORT', help: 'send package #0 to this UDP address once listening' },
    { name: 'notify-mqtt', value: 'URL', help: 'publish package #0 at this broker once listening (with --device)' },
    { name: 'device', value: 'ID', help: 'device id for the MQTT topic' },
    { name: 'session-id', value: 'N', help: 'session id of package #0 (default 1)' },
    { name: 'dm11-only', help: 'speak DM 1.1.2 only: answer DM 1.2 with 505 (the client\'s fallback)' },
  ],
  notes: 'Runs until SIGINT or SIGTERM, then exits 0.',
} as const;

const USAGE = `usage: dm-agent omadm-server ${spec.args} [${spec.options.filter((o) => o.name !== 'server-secret-file').map((o) => ('value' in o ? `--${o.name} ${o.value}` : `--${o.name}`)).join('] [')}]`;
const FLAGS = spec.options.filter((o) => !('value' in o)).map((o) => o.name);
const VALUED = spec.options.filter((o) => 'value' in o).map((o) => o.name);

export interface OmaDmServerRunOptions {
  signal?: AbortSignal;
  onListening?: (server: RunningDmServer) => void;
}

export async function run(args: string[], io: CommandIo, options: OmaDmServerRunOptions = {}): Promise<number> {
  const { positional, options: opts, unknown } = parseOptions(args, FLAGS, VALUED);
  const text = (name: string): string | undefined => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
  const problems = [...unknown, ...positional.map((arg) => `unexpected argument ${JSON.stringify(arg)}`)];
  const int = (name: string, max: number, fallback: number): number => {
    const value = text(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) > max) problems.push(`--${name} must be an integer in 0..${max}, got ${JSON.stringify(value)}`);
    return Number(value);
  };
  const port = int('port', 65535, 0);
  const sessionId = int('session-id', 0xffff, 1);
  const udp = text('notify-udp');
  const udpMatch = udp === undefined ? undefined : /^(.+):(\d{1,5})$/.exec(udp);
  if (udp !== undefined && (!udpMatch || Number(udpMatch[2]) > 65535)) problems.push(`--notify-udp must be HOST:PORT, got ${JSON.stringify(udp)}`);
  if (text('notify-mqtt') !== undefined && text('device') === undefined) problems.push('--notify-mqtt needs --device ID');
  if ((text('client') === undefined) !== (text('client-secret-file') === undefined)) problems.push('--client and --client-secret-file go together');
  const encoding = text('encoding');
  if (encoding !== undefined && encoding !== 'xml' && encoding !== 'wbxml') problems.push(`--encoding must be xml or wbxml, got ${JSON.stringify(encoding)}`);
  if (text('server-secret-file') === undefined) problems.push('--server-secret-file FILE is required');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}\n`);
    return EXIT_USAGE;
  }

  let serverSecret: string;
  let clients: ClientAccount[] = [];
  let pkg: ServedFile | undefined;
  let steps: Step[] | undefined;
  try {
    serverSecret = readSecretFile(text('server-secret-file')!);
    if (text('client') !== undefined) clients = [{ name: text('client')!, secret: readSecretFile(text('client-secret-file')!) }];
    const pkgFile = text('package');
    if (pkgFile !== undefined) pkg = await servedFile(pkgFile);
    const scriptFile = text('script');
    if (scriptFile !== undefined) steps = parseScript(JSON.parse(await readFile(scriptFile, 'utf8')));
  } catch (error) {
    if (error instanceof SecretFileError || error instanceof TypeError || error instanceof SyntaxError) {
      io.stderr(`${error.message}\n`);
      return EXIT_USAGE;
    }
    const problem = fileProblem(String((error as { path?: string }).path ?? 'file'), error);
    io.stderr(`${problem.message}\n`);
    return problem.code;
  }

  const engines = createJsEngines();
  const md5 = (data: Uint8Array) => engines.hash('md5', data);
  const serverId = text('server-id') ?? 'srv1';
  let running: RunningDmServer;
  const metadataDir = text('metadata');
  let stopRefresh = (): void => undefined;
  try {
    if (metadataDir !== undefined && text('metadata-keys') !== undefined) stopRefresh = await startMetadataRefresh(metadataDir, text('metadata-keys')!, io, 'omadm-server');
    const deltas = text('deltas') !== undefined ? new DeltaMaker({ dir: text('deltas')! }) : undefined;
    if (deltas) io.stdout(`${await deltas.index()} package delta(s) served from ${text('deltas')}\n`);
    running = await startDmServer(
      { serverId, clients, md5, tokenize: engines.syncmlTokenize, ...(deltas ? { deltas } : {}), ...(pkg ? { packages: [pkg] } : {}), ...(metadataDir !== undefined ? { metadataDir } : {}), ...(opts['dm11-only'] ? { versions: '1.1-only' as const } : {}), ...(encoding ? { encoding: encoding as 'xml' | 'wbxml' } : {}) },
      { ...(text('host') !== undefined ? { host: text('host')! } : {}), port },
    );
  } catch (error) {
    io.stderr(`cannot start the OMA DM server: ${(error as Error).message}\n`);
    return EXIT_FAILED;
  }
  const { server } = running;
  const off = server.journal.onEntry((entry) => io.stdout(`${new Date().toISOString()} ${JSON.stringify(entry)}\n`));
  server.script(...(steps ?? [[get('./DevInfo/DevId', './DevInfo/Man', './DevInfo/Mod', './DevInfo/DmV')], ...(pkg ? [fumoDownload('1', server.packageUrl(pkg.name), 'fumo-1', 'DownloadAndUpdate')] : [])]));
  io.stdout(`OMA DM server: ${running.url}${pkg ? `; package ${server.packageUrl(pkg.name)}` : ''}${opts['dm11-only'] ? '; DM 1.1.2 only' : ''}\n`);
  options.onListening?.(running);
  let status = EXIT_OK;
  try {
    const bytes = packageZero(md5, { serverId, sessionId }, { name: serverId, secret: serverSecret });
    if (udpMatch) await sendUdpPush(bytes, { host: udpMatch[1]!, port: Number(udpMatch[2]) }, server.journal, sessionId);
    if (text('notify-mqtt') !== undefined) await publishMqttPush(bytes, text('notify-mqtt')!, notificationTopic(text('device')!), server.journal, sessionId);
  } catch (error) {
    io.stderr(`package #0 not sent: ${(error as Error).message}\n`);
    status = EXIT_FAILED;
  }
  if (status === EXIT_OK) await untilStopped(options.signal);
  off();
  stopRefresh();
  await running.close();
  io.stdout('OMA DM server stopped\n');
  return status;
}

async function servedFile(path: string): Promise<ServedFile> {
  const info = await stat(path);
  const digest = createHash('sha256').update(await readFile(path)).digest('hex');
  return { name: basename(path), version: '1', path, size: info.size, digest };
}
