/**
 * Package #0 from the reference server: built with the server's credentials (digest over the
 * trigger, agent/omadm/notification.ts) and sent as a UDP datagram (port 2948 by default; the
 * client's listener, agent/omadm/push.ts, takes the bare package #0, and `wsp: true` wraps it in a
 * connectionless WAP push PDU for devices behind a WAP gateway) or published on the device's MQTT
 * topic.
 */
import { createSocket } from 'node:dgram';
import { type Md5 } from '../../agent/omadm/crypto.ts';
import { buildNotification, UDP_PUSH_PORT, type UiMode } from '../../agent/omadm/notification.ts';
import { connectPushBroker, type PushBroker } from '../push.ts';
import type { DmJournal } from './journal.ts';

/** The topic a device listens on for package #0 (the agent's MQTT transport subscribes to the same). */
export { notificationTopic } from '../../agent/omadm/push.ts';

const PDU_PUSH = 0x06;
/** Content-Type application/vnd.syncml.notification (well-known 0x44) and X-Wap-Application-Id syncml.dm (0x2F: 0x07). */
const PUSH_HEADERS = [0x80 | 0x44, 0x80 | 0x2f, 0x80 | 0x07];

/** WAP-230-WSP §8.2.4.1: TID | 0x06 Push | HeadersLen | Content-Type + headers | package #0. */
export function encodeWapPush(body: Uint8Array, tid = 0): Uint8Array {
  const out = new Uint8Array(3 + PUSH_HEADERS.length + body.length);
  out.set([tid & 0xff, PDU_PUSH, PUSH_HEADERS.length, ...PUSH_HEADERS], 0);
  out.set(body, 3 + PUSH_HEADERS.length);
  return out;
}

export interface NotifyCredential {
  /** The server's name and secret as the device's DMAcc holds them (ServerID / server AAuth). */
  name: string;
  secret: string;
  /** The server nonce the device expects (empty when none was agreed). */
  nonce?: Uint8Array;
}

export interface PackageZero {
  serverId: string;
  sessionId: number;
  uiMode?: UiMode;
  version?: 11 | 12;
  vendor?: Uint8Array;
}

export function packageZero(md5: Md5, fields: PackageZero, credential: NotifyCredential): Uint8Array {
  if (!Number.isInteger(fields.sessionId) || fields.sessionId < 0 || fields.sessionId > 0xffff) throw new RangeError(`sessionId must be 0..65535, got ${fields.sessionId}`);
  return buildNotification(md5, fields, { name: credential.name, secret: credential.secret, nonce: credential.nonce ?? new Uint8Array(0) });
}

/** Sends package #0 in one datagram to host:port (default 2948). */
export async function sendUdpPush(bytes: Uint8Array, target: { host: string; port?: number; wsp?: boolean }, journal?: DmJournal, sessionId = -1): Promise<void> {
  const port = target.port ?? UDP_PUSH_PORT;
  const datagram = target.wsp ? encodeWapPush(bytes) : bytes;
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => socket.send(datagram, port, target.host, (error) => (error ? reject(error) : resolve())));
  } finally {
    socket.close();
  }
  journal?.add({ kind: 'notify', transport: 'udp', sessionId, to: `${target.host}:${port}` });
}

/**
 * Publishes package #0 (QoS 1) on `topic`: through a broker the process already holds (the one
 * `dm-agent server` embeds or connects to, server/push.ts), or at the broker `url` for this one message.
 */
export async function publishMqttPush(bytes: Uint8Array, target: string | PushBroker, topic: string, journal?: DmJournal, sessionId = -1): Promise<void> {
  const broker = typeof target === 'string' ? await connectPushBroker(target) : target;
  try {
    await broker.publish(topic, bytes);
  } finally {
    if (typeof target === 'string') await broker.close();
  }
  journal?.add({ kind: 'notify', transport: 'mqtt', sessionId, to: topic });
}
