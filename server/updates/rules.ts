/**
 * Update rules: one per imported image, "devices of this model running one of these versions
 * should run this image". A rule is *pending* on import, *approved* or *rejected* by an admin;
 * normal devices get approved rules only, test devices (by id) pending ones too (seed 002).
 *
 * When several rules match, the newest import wins (rule ids grow with every import): approving
 * an older image again is how an admin sends devices back, as with the seeds' service.
 */
import type { ManifestImage } from './manifest.ts';

export type RuleState = 'pending' | 'approved' | 'rejected';

export interface Rule {
  /** `r<sequence>`, stable across restarts (the journal replays imports in order). */
  id: string;
  seq: number;
  model: string;
  version: string;
  /** Versions it applies to; absent: every version other than `version`. */
  from?: string[];
  description?: string;
  sha256: string;
  size: number;
  /** Where the image is served from (the service's image store, or the import folder). */
  path: string;
  state: RuleState;
  importedUtcMs: number;
  decidedUtcMs?: number;
}

export class RuleError extends Error {
  readonly code: 'unknownRule' | 'conflict';
  readonly status: number;
  constructor(code: 'unknownRule' | 'conflict', message: string) {
    super(message);
    this.name = 'RuleError';
    this.code = code;
    this.status = code === 'unknownRule' ? 404 : 409;
  }
}

export class Rules {
  readonly #rules = new Map<string, Rule>();
  #seq = 0;

  list(): Rule[] {
    return [...this.#rules.values()];
  }

  get(id: string): Rule | undefined {
    return this.#rules.get(id);
  }

  /**
   * What importing `images` would do: every image is new, or already known with the same bytes
   * (skipped, so importing a folder twice is harmless). The same model and version with other
   * bytes is a conflict: nothing of the import is applied.
   */
  plan(images: readonly ManifestImage[]): { fresh: ManifestImage[]; known: Rule[] } {
    const fresh: ManifestImage[] = [];
    const known: Rule[] = [];
    for (const image of images) {
      const existing = this.list().find((rule) => rule.model === image.model && rule.version === image.version && rule.state !== 'rejected');
      if (existing === undefined) fresh.push(image);
      else if (existing.sha256 === image.sha256) known.push(existing);
      else throw new RuleError('conflict', `${image.model} ${image.version} is already rule ${existing.id} with other bytes (SHA-256 ${existing.sha256}); reject it first`);
    }
    return { fresh, known };
  }

  /** Adds pending rules (paths already point into the image store). */
  add(images: readonly (ManifestImage & { path: string })[], utcMs: number): Rule[] {
    return images.map(({ model, version, from, description, sha256, size, path }) => {
      const seq = ++this.#seq;
      const rule: Rule = { id: `r${seq}`, seq, model, version, ...(from ? { from } : {}), ...(description !== undefined ? { description } : {}), sha256, size, path, state: 'pending', importedUtcMs: utcMs };
      this.#rules.set(rule.id, rule);
      return rule;
    });
  }

  decide(id: string, state: 'approved' | 'rejected', utcMs: number): Rule {
    const rule = this.#rules.get(id);
    if (!rule) throw new RuleError('unknownRule', `no rule ${JSON.stringify(id)}`);
    rule.state = state;
    rule.decidedUtcMs = utcMs;
    return rule;
  }

  /** The rule a device should follow now, if any. */
  select(model: string, version: string, testDevice: boolean): Rule | undefined {
    let best: Rule | undefined;
    for (const rule of this.#rules.values()) {
      if (rule.model !== model || rule.version === version) continue;
      if (rule.state === 'rejected' || (rule.state === 'pending' && !testDevice)) continue;
      if (rule.from !== undefined && !rule.from.includes(version)) continue;
      if (best === undefined || rule.seq > best.seq) best = rule;
    }
    return best;
  }

  /** The image with this digest, if a rule that is not rejected serves it. */
  image(sha256: string): Rule | undefined {
    for (const rule of this.#rules.values()) if (rule.sha256 === sha256 && rule.state !== 'rejected') return rule;
    return undefined;
  }
}
