/**
 * The demo's OMA DM act (issue 14): the reference OMA DM server and a second simulated device
 * managed over OMA DM 1.2. Package #0 goes to the device's UDP listener; the server-initiated
 * session reads DevInfo and starts a FUMO download into the inactive slot, which is held at
 * State 40 (the Generic Alert reports the download); a second notification executes Update, the
 * device reboots (the Node HAL created again runs the A/B bootloader), confirms its trial boot and
 * reports the update with a Generic Alert 1226 the server acknowledges.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listenUdp } from '../../agent/omadm/push.ts';
import { createNodeDevice, type NodeBoard, type NodeDevice } from '../../hal/node/index.ts';
import { fumoDownload, fumoUpdate, get, packageZero, type RunningDmServer, sendUdpPush, startDmServer } from '../../server/omadm/index.ts';
import { createJsEngines } from '../../wasm/src/engines.ts';
import { xorshiftBytes } from './fixture.ts';
import { type DmDevice, openOmaDmDevice } from './omadm-device.ts';

const DEVICE_ID = 'IMEI:490154203237518';
const SERVER = { id: 'demo-dm', secret: 'demo-dm-server-secret' };
const CLIENT = { name: 'sim-dm-0001', secret: 'demo-dm-client-secret' };
const IMAGE_BYTES = 192 * 1024;

export async function omadmAct(say: (text: string) => void, dir: string, board: NodeBoard): Promise<boolean> {
  const engines = createJsEngines();
  const md5 = (data: Uint8Array) => engines.hash('md5', data);
  const image = xorshiftBytes(IMAGE_BYTES, 11);
  await mkdir(join(dir, 'omadm'), { recursive: true });
  const path = join(dir, 'omadm', 'fw-1.2.0.bin');
  await writeFile(path, image);
  const pkg = { name: 'fw-1.2.0.bin', version: '1.2.0', path, size: image.length, digest: createHash('sha256').update(image).digest('hex') };
  let running: RunningDmServer | undefined;
  let device: NodeDevice | undefined;
  let dev: DmDevice | undefined;
  let udp: { port: number; close(): Promise<void> } | undefined;
  try {
    running = await startDmServer({ serverId: SERVER.id, clients: [CLIENT], packages: [pkg], md5, tokenize: engines.syncmlTokenize, encoding: 'wbxml' });
    const server = running.server;
    say(`  server ${running.url} (WBXML, auth-md5), package ${pkg.name} ${Math.round(IMAGE_BYTES / 1024)} KiB\n`);
    const boot = () => createNodeDevice({ workDir: join(dir, 'sim-omadm'), board, identity: { deviceId: DEVICE_ID, model: 'sim', firmwareVersion: '1.1.0' }, log: { level: 'warn' }, onReboot: () => {} });
    const open = async (d: NodeDevice) => {
      const opened = await openOmaDmDevice(d, {
        engines,
        account: { id: 'demo', serverId: SERVER.id, addr: running!.url, authPref: 'DIGEST', client: { name: CLIENT.name, secret: CLIENT.secret }, server: { name: SERVER.id, secret: SERVER.secret } },
        facts: { devId: DEVICE_ID, man: 'dm-agent', mod: 'sim', fwV: () => '1.1.0' },
      });
      udp = d.net.udp ? await listenUdp(d.net.udp, opened.client.router, { port: 0, address: '127.0.0.1' }) : undefined;
      return opened;
    };
    let sessionId = 0x51;
    const notify = async (steps: Parameters<typeof server.script>) => {
      if (!udp) throw new Error('the device has no UDP facet');
      server.script(...steps);
      const ends = server.journal.of('end').length;
      const id = sessionId++;
      await sendUdpPush(packageZero(md5, { serverId: SERVER.id, sessionId: id }, { name: SERVER.id, secret: SERVER.secret }), { host: '127.0.0.1', port: udp.port }, server.journal, id);
      for (let i = 0; i < 500 && server.journal.of('end').length === ends; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await dev!.client.router.receive(new Uint8Array(0)); // queued behind the session: resolves once it and its FUMO work are done
      return id.toString(16).toUpperCase();
    };

    device = await boot();
    dev = await open(device);
    const first = await notify([[get('./DevInfo/Man', './DevInfo/Mod', './DevInfo/DmV'), ...fumoDownload('1', server.packageUrl(pkg.name), 'demo-download')]]);
    const results = server.journal.of('result').map((r) => `${r.uri.replace('./DevInfo/', '')}=${r.data}`);
    say(`  package #0 over UDP → session ${first}: ${results.join(', ')}; statuses ${server.journal.statuses(first).join(' ')}\n`);
    say(`  FUMO: downloaded into slot ${(await device.update.status()).active === 'a' ? 'b' : 'a'}, State ${dev.client.fumo.state('1')} (held until Exec Update)\n`);
    await dev.client.deliverAlerts();
    const second = await notify([[fumoUpdate('1', 'demo-update')]]);
    say(`  session ${second}: Exec Update → ${server.journal.statuses(second).join(' ')}, State ${dev.client.fumo.state('1')}, reboot requested\n`);
    await udp?.close();
    await dev.store.close();
    await device.close();

    device = await boot();
    say(`  reboot → bootloader: ${device.bootOutcome.kind} boot of slot ${device.bootOutcome.active}\n`);
    dev = await open(device);
    await dev.pipeline.afterBoot();
    await dev.client.deliverAlerts();
    const status = await device.update.status();
    const alerts = server.journal.genericAlerts();
    say(`  confirmed slot ${status.active} (${status.confirmed ? 'committed' : 'trial'}), State ${dev.client.fumo.state('1')}; Generic Alerts acknowledged: ${alerts.map((a) => `${a.type.split('.').at(-1)} ${a.result}`).join(', ')}\n`);
    return status.confirmed && status.active !== 'a' && dev.client.fumo.state('1') === 100 && alerts.length === 2 && alerts.every((a) => a.result === 200);
  } finally {
    await udp?.close().catch(() => undefined);
    await dev?.store.close().catch(() => undefined);
    await device?.close().catch(() => undefined);
    await running?.close().catch(() => undefined);
  }
}
