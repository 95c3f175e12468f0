/**
 * What the family needs to take package #0 in, kept apart from its parsing and verification
 * (notification.ts, a lazy chunk loaded with the first package #0) and from the MQTT topic
 * helpers (push.ts, whose topic names come from agent/push/): the router's interface, the size
 * limit, the push channel's name and the UDP listener. A bad datagram is the router's to refuse;
 * a listener never throws into the transport.
 */
import type { Udp } from '../../hal/types.ts';
import { OmaDmError } from './errors.ts';

/** Where package #0 goes (notification.ts's NotificationRouter); resolves true when a session was started. */
export interface PushRouter {
  receive(bytes: Uint8Array): Promise<boolean>;
}

export interface PushListener {
  /** Stops listening (idempotent). */
  close(): Promise<void>;
}

/** `const enum`: inlined, no module variable (a name, an atom, in a QuickJS heap). */
const enum Limit {
  /** Largest package #0 accepted (digest + header + 255-byte server id + a vendor body). */
  notification = 4096,
}

/** The family's channel name on the agent's push channel (agent/push/): topic `<prefix>/<device>/pkg0`. */
export const PUSH_CHANNEL = 'pkg0';

export function feed(router: PushRouter, payload: Uint8Array, onError?: (error: unknown) => void): void {
  pushPackageZero(router, payload).catch((error) => onError?.(error));
}

/** Package #0 from any transport into the router; an oversized one is refused before parsing. */
export async function pushPackageZero(router: PushRouter, payload: Uint8Array): Promise<void> {
  if (payload.length > Limit.notification) throw new OmaDmError('notification', `package #0 of ${payload.length} bytes (max ${Limit.notification})`);
  await router.receive(payload);
}

/** Package #0 datagrams on `port` into the router. */
export async function bindUdp(udp: Udp, router: PushRouter, options: { port: number; address?: string; onError?: (error: unknown) => void }): Promise<PushListener & { port: number }> {
  const socket = await udp.bind({ port: options.port, ...(options.address === undefined ? {} : { address: options.address }) });
  const off = socket.onMessage((datagram) => feed(router, datagram.payload, options.onError));
  return {
    port: socket.port,
    async close() {
      off();
      await socket.close();
    },
  };
}
