import { describe, expect, it } from 'vitest';
import { policyInteraction } from '../../agent/omadm/alerts.ts';
import { CommandProcessor } from '../../agent/omadm/commands.ts';
import { OmaDmClient, type OmaDmConfig } from '../../agent/omadm/client.ts';
import { FUMO_STATES, FUMO_TABLE, type FumoEvent, type FumoState, isFumoState, nextState, stateCode } from '../../agent/omadm/fumo/flow.ts';
import type { FumoJob, FumoPipeline } from '../../agent/omadm/fumo/manager.ts';
import type { Alert, Command, Status } from '../../agent/syncml/model.ts';
import { ACCOUNT, engines, FACTS, md5, newMedium } from './support.ts';
import { clock, type Exchange, message, type Reply, ScriptedServer, serverHeader, statusesFor, text } from './fake-server.ts';

class RecordingPipeline implements FumoPipeline {
  readonly calls: string[] = [];
  async start(job: FumoJob) {
    this.calls.push(`start ${job.operation} ${job.url} ${job.runThrough ? 'through' : 'hold'}`);
  }
  async release(job: FumoJob) {
    this.calls.push(`release ${job.operation}`);
  }
}

const CONFIG: OmaDmConfig = { accounts: [ACCOUNT], retryIntervalMs: 0, retries: 0 };

async function open(medium: ReturnType<typeof newMedium>, script: (ex: Exchange, i: number) => Reply) {
  const store = await medium.open();
  const server = new ScriptedServer(script);
  const pipeline = new RecordingPipeline();
  const client = await OmaDmClient.open({ http: server, clock, random: (n) => new Uint8Array(n), md5, tokenize: engines.syncmlTokenize, store, config: CONFIG, facts: FACTS, fumoPipeline: pipeline });
  return { store, server, pipeline, client };
}

/** A server that runs `commands` in its first reply, then closes; later sessions only get statuses. */
function scripted(plan: Command[][]) {
  let session = -1;
  return (ex: Exchange): Reply => {
    const first = ex.message.body.commands.some((c) => c.cmd === 'Alert' && ['1200', '1201'].includes(text(c.data) ?? ''));
    if (first) session++;
    const commands = first ? (plan[session] ?? []) : [];
    return { message: message(serverHeader(ex.message, first ? 1 : 2), [...statusesFor(ex.message), ...commands]) };
  };
}

const replace = (id: string, uri: string, data: string): Command => ({ cmd: 'Replace', cmdID: id, items: [{ target: { locURI: uri }, data }] });
const exec = (id: string, uri: string, correlator?: string): Command => ({ cmd: 'Exec', cmdID: id, ...(correlator ? { correlator } : {}), items: [{ target: { locURI: uri } }] });
const notification = { digest: new Uint8Array(16), version: 12, uiMode: 'background' as const, serverInitiated: true, sessionId: 0x42, serverId: 'srv1', vendor: new Uint8Array(0), trigger: new Uint8Array(0) };
const statusCodes = (ex: Exchange | undefined) => (ex?.message.body.commands ?? []).filter((c): c is Status => c.cmd === 'Status' && c.cmdRef !== '0').map((s) => `${s.refCmd}:${text(s.data)}`);

describe('FUMO', () => {
  it('the transition table only allows Exec Update on a held package, and new jobs from resting states', () => {
    expect(nextState('idle', 'execUpdate')).toBeUndefined();
    expect(nextState('downloadComplete', 'execUpdate')).toBe('updating');
    expect(nextState('downloading', 'execDownload')).toBeUndefined();
    expect(nextState('updateSuccessNoData', 'execDownload')).toBe('downloading');
    expect(nextState('idle', 'execUpdatePkgData')).toBe('updating'); // the package came inline (Update/PkgData)
    expect(nextState('downloadComplete', 'execUpdatePkgData')).toBeUndefined();
    expect(FUMO_TABLE.split('\n')).toHaveLength(8);
  });

  it('State leaf codes follow FUMO 1.0 §5.3, and only those ten names are states', () => {
    expect(FUMO_STATES.split(' ').map((state) => stateCode(state as FumoState))).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect([stateCode('idle'), stateCode('downloadComplete'), stateCode('updating'), stateCode('updateSuccessNoData')]).toEqual([10, 40, 60, 100]);
    for (const state of FUMO_STATES.split(' ')) expect(isFumoState(state)).toBe(true);
    for (const other of ['', ' ', 'idle ', 'idle downloading', 'Idle', 'toString', 'constructor', 10, undefined, null]) expect(isFumoState(other)).toBe(false);
  });

  it('the compact table reads as the FUMO 1.0 transitions, every state × event', () => {
    const resting = ['idle', 'downloadFailed', 'updateFailedHaveData', 'updateFailedNoData', 'updateSuccessHaveData', 'updateSuccessNoData'] as const;
    const fromResting = (to: FumoState) => Object.fromEntries(resting.map((state) => [state, to]));
    const expected: Record<FumoEvent, Partial<Record<FumoState, FumoState>>> = {
      execDownload: fromResting('downloading'),
      execDownloadAndUpdate: fromResting('downloading'),
      downloaded: { downloading: 'downloadComplete' },
      downloadFailed: { downloading: 'downloadFailed' },
      execUpdate: { downloadComplete: 'updating', readyToUpdate: 'updating' },
      execUpdatePkgData: fromResting('updating'),
      updated: { updating: 'updateSuccessNoData' },
      updateFailed: { updating: 'updateFailedNoData', downloading: 'downloadFailed' },
    };
    expect(FUMO_TABLE.split('\n').map((line) => line.split(' ')[0]).sort()).toEqual(Object.keys(expected).sort());
    for (const event of Object.keys(expected) as FumoEvent[])
      for (const state of FUMO_STATES.split(' ') as FumoState[]) expect([state, event, nextState(state, event)]).toEqual([state, event, expected[event][state]]);
  });

  it('Download → 202, held at 40 with a Generic Alert; Update → 202, reboot keeps State 60; success → 100 and an acknowledged 1226', async () => {
    const medium = newMedium();
    const plan = [
      [replace('2', './FUMO/1/Download/PkgURL', 'http://fw.example/pkg.bin'), exec('3', './FUMO/1/Download', 'corr-dl'), { cmd: 'Get', cmdID: '4', items: [{ target: { locURI: './FUMO/1/State' } }] } as Command],
      [],
      [exec('2', './FUMO/1/Update', 'corr-up'), exec('3', './FUMO/1/Update')],
    ];
    let a = await open(medium, scripted(plan));
    await a.client.serverSession(notification);
    expect(a.server.log[0]?.message.hdr?.sessionID).toBe('42');
    expect(statusCodes(a.server.log[1])).toEqual(['Replace:200', 'Exec:202', 'Get:200']);
    const results = a.server.log[1]?.message.body.commands.find((c) => c.cmd === 'Results');
    expect(text(results?.cmd === 'Results' ? results.items?.[0]?.data : undefined)).toBe('30');
    expect(a.pipeline.calls).toEqual(['start download http://fw.example/pkg.bin hold']);
    await a.client.fumo.report('1', 'downloaded');
    expect(a.client.fumo.state('1')).toBe(40);
    await a.client.fumo.report('1', 'downloaded'); // repeated after a power cut: no second alert
    expect(a.client.fumo.pendingAlerts()).toHaveLength(1);

    expect(await a.client.deliverAlerts()).toBe(1);
    const alert = a.server.log.at(-1)?.message.body.commands.find((c): c is Alert => c.cmd === 'Alert' && text(c.data) === '1226');
    expect(alert).toMatchObject({ correlator: 'corr-dl', items: [{ source: { locURI: './FUMO/1' }, meta: { type: 'org.openmobilealliance.dm.firmwareupdate.download', format: 'int', mark: 'informational' }, data: '200' }] });
    expect(a.client.fumo.pendingAlerts()).toHaveLength(0);

    // Exec Update releases the hold; the second Exec Update (already updating) is refused.
    await a.client.serverSession({ ...notification, sessionId: 0x43 });
    expect(statusCodes(a.server.log.at(-1))).toEqual(['Exec:202', 'Exec:405']);
    expect(a.pipeline.calls.at(-1)).toBe('release update');
    expect(a.client.fumo.state('1')).toBe(60);

    // Reboot: a new client over the same flash resumes the release and keeps State 60.
    await a.store.close();
    a = await open(medium, scripted([]));
    expect(a.client.fumo.state('1')).toBe(60);
    await a.client.fumo.continue();
    expect(a.pipeline.calls).toEqual(['release update']);
    await a.client.fumo.report('1', 'updated');
    expect(a.client.fumo.state('1')).toBe(100);
    expect(await a.client.deliverAlerts()).toBe(1);
    const done = a.server.log.at(-1)?.message.body.commands.find((c): c is Alert => c.cmd === 'Alert' && text(c.data) === '1226');
    expect(done).toMatchObject({ correlator: 'corr-up', items: [{ meta: { type: 'org.openmobilealliance.dm.firmwareupdate.update' }, data: '200' }] });
  });

  it('the Generic Alert stays queued until the server acknowledges it (failed session, non-2xx Status)', async () => {
    const medium = newMedium();
    let mode: 'down' | 'refuse' | 'ack' = 'down';
    const a = await open(medium, (ex) => {
      if (mode === 'down') return { raw: new Uint8Array(0), status: 503 };
      const statuses = statusesFor(ex.message).map((s) => (mode === 'refuse' && s.refCmd === 'Alert' ? { ...s, data: '500' } : s));
      return { message: message(serverHeader(ex.message, 1), statuses) };
    });
    const run = new CommandProcessor({ tree: a.client.tree, csps: a.client.csps, serverId: 'srv1', ui: policyInteraction('accept') });
    const out = await run.run([replace('1', './FUMO/1/DownloadAndUpdate/PkgURL', 'https://fw.example/p'), exec('2', './FUMO/1/DownloadAndUpdate', 'c1')], '1');
    expect(out.map((s) => (s.cmd === 'Status' ? text(s.data) : ''))).toEqual(['200', '202']);
    await a.client.fumo.continue();
    expect(a.pipeline.calls).toEqual(['start downloadandupdate https://fw.example/p through']);
    await a.client.fumo.report('1', 'downloaded');
    expect(a.client.fumo.state('1')).toBe(60);
    expect(a.client.fumo.pendingAlerts()).toHaveLength(0);
    await a.client.fumo.report('1', 'updateFailed', 402);
    expect(a.client.fumo.state('1')).toBe(80);
    await expect(a.client.deliverAlerts()).rejects.toMatchObject({ code: 'transport' });
    mode = 'refuse';
    expect(await a.client.deliverAlerts()).toBe(0);
    mode = 'ack';
    expect(await a.client.deliverAlerts()).toBe(1);
    const alert = a.server.log.at(-1)?.message.body.commands.find((c): c is Alert => c.cmd === 'Alert' && text(c.data) === '1226');
    expect(alert).toMatchObject({ correlator: 'c1', items: [{ meta: { type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', mark: 'critical' }, data: '402' }] });
    expect(a.client.fumo.pendingAlerts()).toHaveLength(0);
  });

  it('refuses what FUMO does not allow: State written by a server, a bad PkgURL, Update with nothing downloaded', async () => {
    const a = await open(newMedium(), scripted([]));
    const run = new CommandProcessor({ tree: a.client.tree, csps: a.client.csps, serverId: 'srv1', ui: policyInteraction('accept') });
    const out = await run.run([replace('1', './FUMO/1/State', '100'), replace('2', './FUMO/1/Download/PkgURL', 'ftp://x'), exec('3', './FUMO/1/Download'), exec('4', './FUMO/1/Update'), exec('5', './FUMO/1/PkgName'), { cmd: 'Add', cmdID: '6', items: [{ target: { locURI: './FUMO/2' }, meta: { format: 'node' } }] }], '1');
    expect(out.map((s) => (s.cmd === 'Status' ? text(s.data) : ''))).toEqual(['425', '200', '400', '405', '405', '425']);
    expect(a.client.fumo.state('1')).toBe(10);
  });
});
