/**
 * Mock UDP: sockets of every device attached to one mock network share a port space on the
 * loopback address; a datagram to a port nobody bound is dropped (as UDP would), delivery is
 * asynchronous (never inside `send`).
 */
import { ClosedError, InvalidOptionsError, NetworkError } from '../errors.ts';
import type { Udp, UdpBindOptions, UdpDatagram, UdpSocket } from '../types.ts';

const LOOPBACK = '127.0.0.1';
const EPHEMERAL = 49152;

export class MockUdpHub {
  readonly #sockets = new Map<number, MockUdpSocket>();
  #next = EPHEMERAL;

  bind(options: UdpBindOptions): MockUdpSocket {
    if (!options || !Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new InvalidOptionsError('udp.bind: port must be an integer 0..65535');
    if (options.address !== undefined && typeof options.address !== 'string') throw new InvalidOptionsError('udp.bind: address must be a string');
    let port = options.port;
    if (port === 0) {
      while (this.#sockets.has(this.#next)) this.#next++;
      port = this.#next++;
    }
    if (this.#sockets.has(port)) throw new NetworkError('refused', `udp port ${port} is in use`);
    const socket = new MockUdpSocket(this, port);
    this.#sockets.set(port, socket);
    return socket;
  }

  release(port: number): void {
    this.#sockets.delete(port);
  }

  deliver(datagram: UdpDatagram, port: number): void {
    const target = this.#sockets.get(port);
    if (target) void Promise.resolve().then(() => target.receive(datagram));
  }
}

export class MockUdpSocket implements UdpSocket {
  readonly #listeners = new Set<(datagram: UdpDatagram) => void>();
  #closed = false;

  constructor(private readonly hub: MockUdpHub, readonly port: number) {}

  onMessage(listener: (datagram: UdpDatagram) => void): () => void {
    if (this.#closed) throw new ClosedError('udp socket');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async send(payload: Uint8Array, to: { address: string; port: number }): Promise<void> {
    if (this.#closed) throw new ClosedError('udp socket');
    if (!(payload instanceof Uint8Array)) throw new InvalidOptionsError('udp.send: payload must be bytes');
    if (!to || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) throw new InvalidOptionsError('udp.send: port must be an integer 1..65535');
    this.hub.deliver({ payload: payload.slice(), address: LOOPBACK, port: this.port }, to.port);
  }

  receive(datagram: UdpDatagram): void {
    if (this.#closed) return;
    for (const listener of this.#listeners) listener(datagram);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.hub.release(this.port);
  }
}

/** `hold` ties a socket to the device's net: closing the net (a reboot) closes its sockets. */
export function createMockUdp(hub: MockUdpHub, ensureOpen: () => void, hold: (socket: { close(): void }) => () => void): Udp {
  return {
    async bind(options) {
      ensureOpen();
      const socket = hub.bind(options);
      hold(socket);
      return socket;
    },
  };
}
