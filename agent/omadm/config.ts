/** The `omadm` config section, validated strictly (a typo must not pass silently). */
import { type ScheduleConfig, resolveSchedule, scheduleSchema } from '../families/schedule-config.ts';
import { type Infer, array, boolean, httpUrl, integer, object, oneOf, optional, string } from '../transport/schema.ts';
import { type ImageDownloadConfig, imageDownloadSchema, resolveImageDownload } from '../families/download-config.ts';
import { utf8Encode } from '../util/bytes.ts';
import { requireSecureUrl } from '../trust/transport-policy.ts';
import type { OmaDmConfig } from './client.ts';

/**
 * Built for each parse, not at load: the config is parsed once at start, and a schema kept for
 * good would hold a few dozen objects of the family's heap for nothing. The name and credential
 * schemas are shared by the fields that take them (schemas are stateless), not module helpers:
 * each of those is a function and a name (an atom) of the QuickJS heap.
 */
export const omadmConfigSchema = () => {
  const name = string({ min: 1, max: 255 });
  const credential = object({ name, secret: string({ max: 1024 }), nonce: optional(string({ max: 255 })) }, { strict: true });
  return object(
    {
      accounts: array(
        object(
          {
            id: string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, label: 'a node name' }),
            serverId: name,
            addr: httpUrl(),
            /** Accept an `http://` addr for this server, logged at every connection. Default false: https only. */
            allowInsecure: optional(boolean()),
            authPref: oneOf(['BASIC', 'DIGEST', 'HMAC'] as const),
            client: credential,
            server: credential,
          },
          { strict: true },
        ),
        { min: 1, max: 8 },
      ),
      schedule: optional(scheduleSchema),
      manufacturer: optional(name),
      encoding: optional(oneOf(['xml', 'wbxml'] as const)),
      maxMsgSize: optional(integer({ min: 1024, max: 1024 * 1024 })),
      maxObjSize: optional(integer({ min: 1024, max: 1024 * 1024 * 1024 })),
      fallback: optional(boolean()),
      retries: optional(integer({ min: 0, max: 20 })),
      retryIntervalMs: optional(integer({ min: 0, max: 3_600_000 })),
      timeoutMs: optional(integer({ min: 100 })),
      authenticateServer: optional(boolean()),
      userPolicy: optional(oneOf(['accept', 'reject', 'timeout'] as const)),
      /** FUMO downloads on the shared pipeline: the same knobs as the other image families. */
      download: optional(imageDownloadSchema),
      /** UDP port of the package #0 listener (0: none). Default 2948. */
      udpPort: optional(integer({ min: 0, max: 65535 })),
    },
    { strict: true },
  );
};

export interface OmaDmFamilyConfig {
  client: OmaDmConfig;
  schedule: ScheduleConfig;
  manufacturer: string;
  udpPort: number;
  download: ImageDownloadConfig;
}

export function resolveOmaDmConfig(input: Infer<ReturnType<typeof omadmConfigSchema>>): OmaDmFamilyConfig {
  const { schedule, manufacturer, udpPort, accounts, download, ...rest } = input;
  for (const a of accounts) requireSecureUrl(a.addr, { allowInsecure: a.allowInsecure ?? false }, `omadm.accounts[${a.id}].addr`);
  const client: OmaDmConfig = { accounts: [] };
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) (client as unknown as Record<string, unknown>)[key] = value;
  for (const a of accounts) {
    client.accounts.push({
      ...a,
      client: { name: a.client.name, secret: a.client.secret, nonce: utf8Encode(a.client.nonce ?? '') },
      server: { name: a.server.name, secret: a.server.secret, nonce: utf8Encode(a.server.nonce ?? '') },
    });
  }
  return { client, schedule: resolveSchedule(schedule, 'omadm.schedule'), manufacturer: manufacturer ?? 'dm-agent', udpPort: udpPort ?? 2948,
    download: resolveImageDownload(download) };
}

/** The `omadm` config section, checked and completed (the registry parses it without loading the family). */
export function parseOmaDmConfig(input: unknown): OmaDmFamilyConfig {
  return resolveOmaDmConfig(omadmConfigSchema().parse(input, 'omadm'));
}
