/**
 * Seed 000 as a family on the seam (../families/family.ts): a scheduled poll of the manager
 * (`delivery.schedule`), jobs under `job/` (their prefix from before the seam, so jobs in flight
 * survive an agent update), state and outbox under `delivery/`.
 */
import type { FamilyDefinition, FamilyInstance } from '../families/family.ts';
import { type DeliveryConfig, parseDeliveryConfig } from './config.ts';
import { DeliveryService, FAMILY, JOB_PREFIX, STATE_PREFIX } from './service.ts';

export interface DeliveryFamily extends FamilyInstance {
  readonly service: DeliveryService;
}

export const deliveryFamily: FamilyDefinition<DeliveryConfig> = {
  name: FAMILY,
  parseConfig: parseDeliveryConfig,
  create(context): DeliveryFamily {
    // The context itself, not a copy: the service keeps it for the agent's life.
    const service = new DeliveryService(context);
    return {
      name: FAMILY,
      prefixes: [STATE_PREFIX, JOB_PREFIX],
      triggers: [{ kind: 'schedule', schedule: context.config.schedule }],
      service,
      boot: async () => ({ pending: await service.boot(), setAside: service.setAside }),
      async run() {
        const summary = await service.cycle();
        return summary.nextPollMs !== undefined ? { nextRunMs: summary.nextPollMs } : {};
      },
      status: () => ({
        name: FAMILY,
        jobs: { active: context.store.keys(JOB_PREFIX).length, setAside: service.setAside },
        outbox: context.outbox.pending(FAMILY).length,
        details: { manager: service.managerUrl(), packages: service.db.list().length, ...(service.publicKey !== undefined ? { deviceKey: service.publicKey } : {}) },
      }),
    };
  },
};
