/** Power conditions: defaults and validation of overrides, shared by the mock and the Node HAL. */
import { InvalidOptionsError } from '../errors.ts';
import type { PowerConditions } from '../types.ts';
import { requireObject } from './validate.ts';

export function defaultConditions(): PowerConditions {
  return { externalPower: true, charging: false, networkUp: true, networkMetered: false };
}

export function validateConditions(value: unknown, where: string): Partial<PowerConditions> {
  if (value === undefined) return {};
  const o = requireObject(value, where);
  const out: Partial<PowerConditions> = {};
  for (const key of ['externalPower', 'charging', 'networkUp', 'networkMetered'] as const) {
    const item = o[key];
    if (item === undefined) continue;
    if (typeof item !== 'boolean') throw new InvalidOptionsError(`${where}.${key} must be a boolean`);
    out[key] = item;
  }
  const battery = o.batteryPercent;
  if (battery !== undefined) {
    if (typeof battery !== 'number' || !(battery >= 0 && battery <= 100)) throw new InvalidOptionsError(`${where}.batteryPercent must be 0–100`);
    out.batteryPercent = battery;
  }
  for (const key of Object.keys(o))
    if (!['externalPower', 'charging', 'networkUp', 'networkMetered', 'batteryPercent'].includes(key))
      throw new InvalidOptionsError(`${where}: unknown condition "${key}"`);
  return out;
}
