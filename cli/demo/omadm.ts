/**
 * The demo's OMA DM act (issue 14): the reference OMA DM server and a second simulated device
 * whose agent runs the OMA DM family. Package #0 goes through the demo's MQTT broker to the agent's
 * push channel (agent/push/, issue 16), which hands it to the family's router; the
 * server-initiated session reads DevInfo and starts a FUMO download through the shared pipeline
 * into the inactive slot, where it is held at State 40 (a Generic Alert reports the download); a
 * second notification executes Update, the device reboots (the Node HAL created again runs the A/B
 * bootloader), commits its trial boot and reports the update with a Generic Alert 1226 the server
 * acknowledges.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agent, createAgent } from '../../agent/index.ts';
import type { OmaDmFamily } from '../../agent/omadm/family.ts';
import { createNodeDevice, type NodeBoard, type NodeDevice } from '../../hal/node/index.ts';
import { notificationTopic } from '../../agent/omadm/push.ts';
import { fumoDownload, fumoUpdate, get, packageZero, publishMqttPush, type RunningDmServer, startDmServer, type Step } from '../../server/omadm/index.ts';
import type { PushBroker } from '../../server/push.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { xorshiftBytes } from './fixture.ts';

const DEVICE_ID = 'IMEI:490154203237518';
const SERVER = { id: 'demo-dm', secret: 'demo-dm-server-secret' };
const CLIENT = { name: 'sim-dm-0001', secret: 'demo-dm-client-secret' };
const IMAGE_BYTES = 192 * 1024;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`OMA DM act: timed out waiting for ${what}`);
}

export async function omadmAct(say: (text: string) => void, dir: string, board: NodeBoard, push: PushBroker): Promise<boolean> {
  const engines = createJsEngines();
  const md5 = (data: Uint8Array) => engines.hash('md5', data);
  const image = xorshiftBytes(IMAGE_BYTES, 11);
  await mkdir(join(dir, 'omadm'), { recursive: true });
  const path = join(dir, 'omadm', 'fw-1.2.0.bin');
  await writeFile(path, image);
  const pkg = { name: 'fw-1.2.0.bin', version: '1.2.0', path, size: image.length, digest: createHash('sha256').update(image).digest('hex') };
  let dm: RunningDmServer | undefined;
  let device: NodeDevice | undefined;
  let agent: Agent | undefined;
  let running: Promise<void> | undefined;
  const stopAgent = async () => {
    agent?.stop();
    await running;
    running = undefined;
    await agent?.close();
  };
  try {
    dm = await startDmServer({ serverId: SERVER.id, clients: [CLIENT], packages: [pkg], md5, tokenize: engines.syncmlTokenize, encoding: 'wbxml' });
    const server = dm.server;
    say(`  server ${dm.url} (WBXML, auth-md5), package ${pkg.name} ${Math.round(IMAGE_BYTES / 1024)} KiB; package #0 over MQTT (${push.url})\n`);
    const omadm = {
      accounts: [{ id: 'demo', serverId: SERVER.id, addr: dm.url, allowInsecure: true, authPref: 'DIGEST', client: CLIENT, server: { name: SERVER.id, secret: SERVER.secret } }],
      udpPort: 0,
      retries: 0,
      schedule: { jitterMs: 0, intervalMs: 86_400_000 },
    };
    let connected = 0;
    let waits = 0;
    const boot = async (run: boolean) => {
      device = await createNodeDevice({ workDir: join(dir, 'sim-omadm'), board, identity: { deviceId: DEVICE_ID, model: 'sim', firmwareVersion: '1.1.0' }, log: { level: 'warn' }, onReboot: () => {} });
      // logLevel error: the empty probe below is refused as malformed on purpose; that warning is noise here.
      agent = await createAgent(device, board, { engine: 'js', logLevel: 'error', trust: { allowUnsigned: true }, omadm, push: { mqtt: { url: push.url } } } as never, {
        onFamilyEvent: (event) => {
          if (event.family === 'push' && event.kind === 'connected') connected++;
          if (event.family === 'omadm' && event.kind === 'waiting') waits++;
        },
      });
      if (run) {
        // The scheduler and the push channel: its boot session (Alert 1201) first, then the broker.
        running = agent.run();
        await until(() => connected > 0 && waits > 0, 'the push channel and the boot session');
      }
      return { device, agent };
    };
    const client = () => (agent!.families.get('omadm') as OmaDmFamily).client();
    let sessionId = 0x51;
    const notify = async (steps: Step[]) => {
      server.script(...steps);
      const ends = server.journal.of('end').length;
      const id = sessionId++;
      await publishMqttPush(packageZero(md5, { serverId: SERVER.id, sessionId: id }, { name: SERVER.id, secret: SERVER.secret }), push, notificationTopic(DEVICE_ID), server.journal, id);
      await until(() => server.journal.of('end').length > ends, 'the server-initiated session');
      await client().router.receive(new Uint8Array(0)); // queued behind the session: resolves once it is done
      // The family continues what the session left (download, hold, Generic Alert) on the scheduler.
      const before = waits;
      await agent!.trigger('omadm', 'push');
      await until(() => waits > before, 'the family run after the session');
      return id.toString(16).toUpperCase();
    };

    await boot(true);
    const facts = server.packageFacts(pkg.name);
    const first = await notify([[get('./DevInfo/Man', './DevInfo/Mod', './DevInfo/DmV'), ...fumoDownload('1', facts.url, 'demo-download', 'Download', facts)]]);
    const results = server.journal.of('result').map((r) => `${r.uri.replace('./DevInfo/', '')}=${r.data}`);
    say(`  package #0 over MQTT → session ${first}: ${results.join(', ')}; statuses ${server.journal.statuses(first).join(' ')}\n`);
    say(`  FUMO: downloaded into the inactive slot, State ${client().fumo.state('1')} (held until Exec Update)\n`);
    const second = await notify([[fumoUpdate('1', 'demo-update')]]);
    say(`  session ${second}: Exec Update → ${server.journal.statuses(second).join(' ')}, State ${client().fumo.state('1')}, reboot requested\n`);
    await stopAgent();
    await device!.close();

    await boot(false);
    say(`  reboot → bootloader: ${device!.bootOutcome.kind} boot of slot ${device!.bootOutcome.active}\n`);
    await agent!.trigger('omadm', 'boot');
    const status = await device!.update.status();
    const alerts = server.journal.genericAlerts();
    const state = client().fumo.state('1');
    say(`  committed slot ${status.active} (confirmed ${status.confirmed}), State ${state}; Generic Alerts acknowledged: ${alerts.map((a) => `${a.type.split('.').at(-1)} ${a.result}`).join(', ')}\n`);
    return status.confirmed && status.active !== 'a' && state === 100 && alerts.length === 2 && alerts.every((a) => a.result === 200);
  } finally {
    await stopAgent().catch(() => undefined);
    await device?.close().catch(() => undefined);
    await dm?.close().catch(() => undefined);
  }
}
