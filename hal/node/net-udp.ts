/** UDP over node:dgram: one socket per bind, closed with the net. Errors are typed `NetworkError`s. */
import dgram from 'node:dgram';
import { ClosedError, InvalidOptionsError, NetworkError } from '../errors.ts';
import type { Udp, UdpBindOptions, UdpDatagram, UdpSocket } from '../types.ts';

class NodeUdpSocket implements UdpSocket {
  readonly #listeners = new Set<(datagram: UdpDatagram) => void>();
  #closed = false;

  constructor(private readonly socket: dgram.Socket, readonly port: number, private readonly forget: () => void) {
    socket.on('message', (payload, remote) => {
      const datagram = { payload: new Uint8Array(payload), address: remote.address, port: remote.port };
      for (const listener of this.#listeners) listener(datagram);
    });
  }

  onMessage(listener: (datagram: UdpDatagram) => void): () => void {
    if (this.#closed) throw new ClosedError('udp socket');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(payload: Uint8Array, to: { address: string; port: number }): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('udp socket'));
    if (!(payload instanceof Uint8Array)) return Promise.reject(new InvalidOptionsError('udp.send: payload must be bytes'));
    if (!to || typeof to.address !== 'string' || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) return Promise.reject(new InvalidOptionsError('udp.send: address and port 1..65535 required'));
    return new Promise((resolve, reject) => {
      this.socket.send(payload, to.port, to.address, (error) => (error ? reject(new NetworkError('io', `udp send failed: ${error.message}`, { cause: error })) : resolve()));
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.forget();
    this.socket.close();
  }
}

export class NodeUdp implements Udp {
  readonly #sockets = new Set<NodeUdpSocket>();

  constructor(private readonly ensureOpen: () => void) {}

  bind(options: UdpBindOptions): Promise<UdpSocket> {
    if (!options || !Number.isInteger(options.port) || options.port < 0 || options.port > 65535) return Promise.reject(new InvalidOptionsError('udp.bind: port must be an integer 0..65535'));
    if (options.address !== undefined && typeof options.address !== 'string') return Promise.reject(new InvalidOptionsError('udp.bind: address must be a string'));
    try {
      this.ensureOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const socket = dgram.createSocket(options.address?.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) => {
        socket.close();
        reject(new NetworkError(error.code === 'EADDRINUSE' ? 'refused' : 'io', `udp bind failed: ${error.message}`, { cause: error }));
      };
      socket.once('error', fail);
      socket.bind(options.port, options.address, () => {
        socket.off('error', fail);
        // Later socket errors (ICMP unreachable etc.) must not crash the process.
        socket.on('error', () => undefined);
        const wrapped: NodeUdpSocket = new NodeUdpSocket(socket, socket.address().port, () => this.#sockets.delete(wrapped));
        this.#sockets.add(wrapped);
        resolve(wrapped);
      });
    });
  }

  closeAll(): void {
    for (const socket of [...this.#sockets]) socket.close();
  }
}
