/**
 * FUMO (OMA-TS-DM-FUMO-V1_0): the `./FUMO/<x>` CSP and the coordinator between the DM server's Exec
 * commands, the shared pipeline that does the work (a `FumoPipeline`: download into the inactive
 * slot, verify, hold, activate, reboot) and the Generic Alert 1226 that reports the result.
 *
 * One record per instance at `omadm/fumo/<x>` holds the state (the State leaf reads it), the job
 * and the alerts waiting for the server's acknowledgement; a transition and the alert it decides
 * are ONE store write, so a power cut can neither lose the alert nor queue it twice.
 */
import type { Alert } from '../../syncml/model.ts';
import { getValue, type KeyValueStore, putValue } from '../../store/index.ts';
import { type Csp, type ExecContext, interior, leaf, type SeedNode, type WriteOp } from '../csp/api.ts';
import { describeInterior, describeLeaf, type NodeDescription, ZERO_OR_MORE, ZERO_OR_ONE } from '../ddf.ts';
import { DmStatusError } from '../errors.ts';
import { AlertCode } from '../messages.ts';
import type { DmNode, TreeTransaction } from '../tree.ts';
import type { ValueStream } from '../large-object.ts';
import type { PkgDataStore } from './pkgdata.ts';
import { loadOnce } from '../../util/load-once.ts';
import { Fumo, FUMO_RESULT, type FumoEvent, type FumoOperation, type FumoState, isFumoState, nextState, stateCode } from './flow.ts';

export interface FumoJob {
  instance: string;
  operation: FumoOperation;
  /** Package URL (Download / DownloadAndUpdate; it may point at a download descriptor). */
  url?: string;
  /** The package came inline in `Update/PkgData` (kept by the PkgDataStore). */
  source?: 'pkgData';
  correlator?: string;
  serverId: string;
  /** Download and update in one go (no hold). */
  runThrough: boolean;
  /** The package: PkgVersion, and (optional) its size and SHA-256 from `Ext/Size`, `Ext/SHA256`; the pipeline may learn them elsewhere. */
  version?: string;
  size?: number;
  sha256?: string;
}

/** What FUMO needs from the shared pipeline. Both calls must be idempotent (they are repeated after a reboot). */
export interface FumoPipeline {
  /** Bring the package at `job.url` into the inactive slot and verify it; hold unless `runThrough`. */
  start(job: FumoJob): Promise<void>;
  /** Exec Update: release the hold (activate, reboot). */
  release(job: FumoJob): Promise<void>;
}

export interface GenericAlert {
  /** Stable id (the server dedupes on the correlator, we on this). */
  id: string;
  serverId: string;
  correlator?: string;
  source: string;
  type: string;
  mark: 'critical' | 'informational';
  result: number;
}

export interface FumoRecord {
  state: FumoState;
  job?: FumoJob;
  alerts: GenericAlert[];
  /** Bumped per job: alert ids stay unique across jobs. */
  sequence: number;
}

/** `const enum`: inlined where used, no module variables (each a name, an atom, in a QuickJS heap). */
const enum Key {
  /** Store key prefix of the instances' records. */
  record = 'omadm/fumo/',
  /**
   * An instance's nodes below `FUMO/<x>` in seed order, `name:format[:value]` (no format: an
   * interior node). One string rather than a builder call per node: less code in a QuickJS heap.
   */
  nodes = 'PkgName:chr PkgVersion:chr Download Download/PkgURL:chr Update Update/PkgData:bin DownloadAndUpdate DownloadAndUpdate/PkgURL:chr State:int:10 Ext Ext/Size:int Ext/SHA256:chr',
}

/**
 * FUMO 1.0 §5 (the MO's DDF): what each node supports; `Ext` is the vendor area (Size, SHA256, …).
 * Built per check, not kept: kept, its ~30 objects (~3 KB of the QuickJS heap) stayed alive after
 * the session that Exec'd a download, through the download itself (the OMA DM cycle's peak).
 */
const FUMO_DDF = (): NodeDescription => {
  const optionalText = describeLeaf(['Get', 'Replace'], 'chr', ZERO_OR_ONE);
  const byUrl = describeInterior(['Get', 'Exec'], { PkgURL: describeLeaf(['Get', 'Replace'], 'chr') }, ZERO_OR_ONE);
  return describeInterior(['Get'], {
    '*': describeInterior(['Get'], {
      PkgName: optionalText,
      PkgVersion: optionalText,
      Download: byUrl,
      Update: describeInterior(['Get', 'Exec'], { PkgData: describeLeaf(['Replace'], ['bin', 'b64']) }, ZERO_OR_ONE),
      DownloadAndUpdate: byUrl,
      State: describeLeaf(['Get'], 'int'),
      Ext: describeInterior(['Get'], {}, ZERO_OR_ONE, true),
    }, ZERO_OR_MORE),
  });
};
const INSTANCE = /^FUMO\/([^/]+)(?:\/(.*))?$/;
const PKGDATA = /^FUMO\/([^/]+)\/Update\/PkgData$/;

/** Inline packages (the Replace of Update/PkgData, ./inline-package.ts) are a lazy chunk: a FUMO cycle by URL never loads it. */
const loadInline = loadOnce(() => import('./inline-package.ts'));

export class FumoManager implements Csp {
  // Declared and set in the constructor, not class fields, and TS-private rather than #private: in a QuickJS heap a
  // class with fields gets one more function (their initializer), one with #private methods a brand check too.
  declare readonly root: 'FUMO';
  declare readonly describe: () => NodeDescription;
  private declare readonly store: KeyValueStore;
  private declare readonly pipeline: FumoPipeline;
  private declare readonly instances: readonly string[];
  private declare readonly pkgData: PkgDataStore | undefined;

  constructor(options: { store: KeyValueStore; pipeline: FumoPipeline; instances?: readonly string[]; pkgData?: PkgDataStore }) {
    this.store = options.store;
    this.pipeline = options.pipeline;
    this.instances = options.instances ?? ['1'];
    this.pkgData = options.pkgData;
    this.root = 'FUMO';
    this.describe = FUMO_DDF;
  }

  record(instance: string): FumoRecord {
    const r = getValue<FumoRecord | undefined>(this.store, Key.record + instance);
    return typeof r === 'object' && r !== null && isFumoState(r.state) && Array.isArray(r.alerts) && typeof r.sequence === 'number' ? r : { state: 'idle', alerts: [], sequence: 0 };
  }

  state(instance: string): number {
    return stateCode(this.record(instance).state);
  }

  private async save(instance: string, record: FumoRecord): Promise<void> {
    await putValue(this.store, Key.record + instance, record);
  }

  /**
   * The CSP owning ./FUMO: the manager itself (its `seed`, `describe`, `read`, `check`, `write`,
   * `stream` and `exec` below), not an object of wrappers around it (each wrapper is one more
   * function in a QuickJS heap).
   */
  csp(): Csp {
    return this;
  }

  seed(): SeedNode[] {
    const nodes: SeedNode[] = [interior('FUMO', 'Get=*')];
    for (const x of this.instances) {
      nodes.push(interior(`FUMO/${x}`, 'Get=*&Replace=*&Exec=*'));
      for (const spec of Key.nodes.split(' ')) {
        const [name, format, value = ''] = spec.split(':') as [string, string?, string?];
        const path = `FUMO/${x}/${name}`;
        // State is the client's: the server only reads it.
        nodes.push(format === undefined ? interior(path) : leaf(path, value, format, name === 'State' ? 'Get=*' : undefined));
      }
    }
    return nodes;
  }

  read(path: string): string | undefined {
    const match = INSTANCE.exec(path);
    return match && match[2] === 'State' ? String(this.state(match[1] as string)) : undefined;
  }

  check(op: WriteOp, path: string): void {
    const match = INSTANCE.exec(path);
    if (!match || match[2] === undefined) throw new DmStatusError(405, 'FUMO instances are fixed');
    if (match[2] === 'State') throw new DmStatusError(405, 'State is the client\'s');
    if (op !== 'Replace' && !match[2].startsWith('Ext')) throw new DmStatusError(405, 'FUMO structure is fixed');
  }

  /** A PkgData large object: streamed into the PkgDataStore (./inline-package.ts); other nodes are assembled as usual. */
  async stream(_op: 'Add' | 'Replace', path: string, node: DmNode, size: number): Promise<ValueStream | undefined> {
    const x = PKGDATA.exec(path)?.[1];
    return x === undefined ? undefined : (await loadInline()).streamPkgData(this.pkgData, this.record(x).state, x, node, size);
  }

  /** Replace Update/PkgData in one piece: the bytes go to the PkgDataStore (./inline-package.ts); other nodes are written as they are. */
  async write(_op: 'Add' | 'Replace', path: string, node: DmNode): Promise<DmNode> {
    const x = PKGDATA.exec(path)?.[1];
    return x === undefined ? node : (await loadInline()).putPkgData(this.pkgData, this.record(x).state, x, node);
  }

  /** Exec Download / Update / DownloadAndUpdate: the transition is persisted, `continue()` acts on it; 202. */
  async exec(path: string, _data: string | undefined, context: ExecContext): Promise<number> {
    const match = INSTANCE.exec(path);
    const x = match?.[1];
    const node = match?.[2];
    if (x === undefined || !this.instances.includes(x)) throw new DmStatusError(404, 'no such FUMO instance');
    const operation: FumoOperation | undefined = node === 'Download' ? 'download' : node === 'Update' ? 'update' : node === 'DownloadAndUpdate' ? 'downloadandupdate' : undefined;
    if (!operation) throw new DmStatusError(405, 'not an executable FUMO node');
    const record = this.record(x);
    // Exec Update without a downloaded package in the hold: the package the server put in PkgData.
    const inline = operation === 'update' && !(record.state === 'downloadComplete' || record.state === 'readyToUpdate') && (await this.pkgData?.size(x)) !== undefined;
    const event: FumoEvent = operation === 'download' ? 'execDownload' : inline ? 'execUpdatePkgData' : operation === 'update' ? 'execUpdate' : 'execDownloadAndUpdate';
    const to = nextState(record.state, event);
    if (!to) throw new DmStatusError(405, `Exec ${node} not allowed in state ${stateCode(record.state)}`);
    const base = { instance: x, serverId: context.serverId, ...(context.correlator === undefined ? {} : { correlator: context.correlator }) };
    let job: FumoJob;
    if (inline) job = { ...base, operation, source: 'pkgData', runThrough: true, ...packageOf(context.tx, x) };
    else if (operation === 'update') {
      if (!record.job) throw new DmStatusError(405, 'no package to update');
      job = { ...record.job, ...base, operation: record.job.operation === 'downloadandupdate' ? 'downloadandupdate' : 'update', runThrough: true };
    } else {
      const url = context.tx.get(`FUMO/${x}/${node}/PkgURL`)?.value;
      if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url)) throw new DmStatusError(400, 'PkgURL is not an http(s) URL');
      job = { ...base, operation, url, runThrough: operation === 'downloadandupdate', ...packageOf(context.tx, x) };
    }
    // The decision is persisted before anything happens; `continue()` (after the session) acts on it.
    await this.save(x, { ...record, state: to, job, sequence: operation === 'update' && !inline ? record.sequence : record.sequence + 1 });
    return 202;
  }

  /** Acts on every instance's persisted state: starts or resumes downloads, releases held packages. */
  async continue(): Promise<void> {
    for (const x of this.instances) {
      const { state, job } = this.record(x);
      if (!job) continue;
      if (state === 'downloading') await this.pipeline.start(job);
      else if (state === 'updating') await this.pipeline.release(job);
    }
  }

  /** The pipeline's outcome: transition, and queue the Generic Alert it decides, in one write. */
  async report(instance: string, event: 'downloaded' | 'downloadFailed' | 'updated' | 'updateFailed', result?: number): Promise<void> {
    const record = this.record(instance);
    const job = record.job;
    let to = nextState(record.state, event);
    if (!to || !job) return; // a repeated report after a power cut: already applied
    let alert: number | undefined;
    if (event === 'downloaded') {
      if (job.runThrough) to = nextState(to, 'execUpdate') as FumoState; // DownloadAndUpdate runs through the hold
      else alert = FUMO_RESULT.success;
    } else if (to === 'downloadFailed') alert = result ?? FUMO_RESULT.downloadNetwork;
    else if (event === 'updated') alert = FUMO_RESULT.success;
    else alert = result ?? FUMO_RESULT.updateFailed;
    const alerts = alert === undefined ? record.alerts : [...record.alerts, genericAlert(instance, job, alert, record.sequence)];
    await this.save(instance, { ...record, state: to, alerts });
  }

  /** Alerts waiting for acknowledgement, oldest first. */
  pendingAlerts(): GenericAlert[] {
    // Loops here, not flatMap/filter callbacks: each is one more function in a QuickJS heap.
    const pending: GenericAlert[] = [];
    for (const x of this.instances) pending.push(...this.record(x).alerts);
    return pending;
  }

  /** The server acknowledged an alert (Status 200 to the 1226). */
  async acknowledge(id: string): Promise<void> {
    for (const x of this.instances) {
      const record = this.record(x);
      const alerts: GenericAlert[] = [];
      for (const alert of record.alerts) if (alert.id !== id) alerts.push(alert);
      if (alerts.length < record.alerts.length) await this.save(x, { ...record, alerts });
    }
  }
}

/** What the server said about the package (all optional here; a pipeline that needs them refuses without). */
function packageOf(tx: TreeTransaction, x: string): Pick<FumoJob, 'version' | 'size' | 'sha256'> {
  const text = (path: string) => {
    const value = tx.get(`FUMO/${x}/${path}`)?.value;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const size = Number(text('Ext/Size'));
  const sha256 = text('Ext/SHA256')?.toLowerCase();
  const version = text('PkgVersion');
  return {
    ...(version === undefined ? {} : { version }),
    ...(Number.isSafeInteger(size) && size > 0 ? { size } : {}),
    ...(sha256 && /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : {}),
  };
}

function genericAlert(instance: string, job: FumoJob, result: number, sequence: number): GenericAlert {
  return {
    id: `fumo-${instance}-${sequence}-${job.operation}`,
    serverId: job.serverId,
    ...(job.correlator === undefined ? {} : { correlator: job.correlator }),
    source: `./FUMO/${instance}`,
    type: Fumo.alertTypePrefix + job.operation,
    mark: result >= 200 && result < 300 ? 'informational' : 'critical',
    result,
  };
}

/** The Alert 1226 command carrying a Generic Alert (DM_Protocol 1.2 §8.7, FUMO §6.3). */
export function genericAlertCommand(alert: GenericAlert): Alert {
  return {
    cmd: 'Alert',
    data: AlertCode.generic,
    ...(alert.correlator === undefined ? {} : { correlator: alert.correlator }),
    items: [{ source: { locURI: alert.source }, meta: { type: alert.type, format: 'int', mark: alert.mark }, data: String(alert.result) }],
  };
}
