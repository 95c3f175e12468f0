/**
 * The HAL contract's network facets (`device.net`): HTTP, DNS, MQTT, UDP and network information.
 * Types only, re-exported by ./types.ts (import from there). Same rules as the rest of the
 * contract: options validated before any I/O, idempotent `close()`, milliseconds.
 */
import type { AbortSignalLike, Bytes, Closable } from './types.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute http: or https: URL. */
  url: string;
  /** Header names are case-insensitive; implementations send them as given. */
  headers?: Record<string, string>;
  body?: Bytes | AsyncIterable<Bytes>;
  /** Fails with `NetworkError` code `timeout` when no progress (connect, header or body bytes) for this long. */
  timeoutMs?: number;
  /**
   * Fails with `NetworkError` code `timeout` when the whole exchange (connect, request, headers
   * and the complete response body) takes longer than this, however steadily bytes arrive: a
   * server trickling one byte per idle interval cannot hold the caller. Includes time the
   * consumer spends between body chunks.
   */
  deadlineMs?: number;
  signal?: AbortSignalLike;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Streamed body: iterate once. Errors mid-body surface as `NetworkError` from the iterator. */
  body: AsyncIterable<Bytes>;
  /** Reads the whole body, refusing more than `maxBytes` (`NetworkError` code `tooLarge`). */
  bytes(maxBytes?: number): Promise<Bytes>;
  /** Stops the transfer and releases the connection. Idempotent. */
  cancel(): void;
}

export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

export type DnsRecordType = 'A' | 'AAAA' | 'SRV' | 'TXT';

export interface DnsSrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

export interface DnsResolver {
  /** Resolves; a missing name rejects with `NetworkError` code `notFound`. */
  resolve(hostname: string, type: 'A' | 'AAAA'): Promise<string[]>;
  resolve(hostname: string, type: 'SRV'): Promise<DnsSrvRecord[]>;
  resolve(hostname: string, type: 'TXT'): Promise<string[][]>;
  /** The DNS search domain handed out by DHCP (seed 002 `ucupdates-r2.<domain>`), if any. */
  domain(): Promise<string | undefined>;
}

export type MqttQos = 0 | 1;

export interface MqttConnectOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  clientId: string;
  /** false resumes the broker-side session (subscriptions and queued QoS 1 messages). */
  cleanSession?: boolean;
  username?: string;
  password?: string;
  keepAliveMs?: number;
  connectTimeoutMs?: number;
  /**
   * 4 = MQTT 3.1.1 (default), 5 = MQTT 5. A broker that does not speak the version refuses the
   * CONNECT: `NetworkError` code `protocol` (the caller may retry with 4). With 5 and
   * `cleanSession: false` the session never expires, as in 3.1.1.
   */
  protocolVersion?: 4 | 5;
  /** Last Will: published by the broker when the connection is lost without a DISCONNECT. */
  will?: MqttWill;
}

export interface MqttWill {
  topic: string;
  payload: Bytes;
  qos?: MqttQos;
  retain?: boolean;
}

export interface MqttMessage {
  topic: string;
  payload: Bytes;
  qos: MqttQos;
  retain: boolean;
}

export interface MqttConnection extends Closable {
  /** True when the broker resumed an existing session for this client id. */
  readonly sessionPresent: boolean;
  /** The protocol version the broker accepted (4 = MQTT 3.1.1, 5 = MQTT 5). */
  readonly protocolVersion: 4 | 5;
  subscribe(topic: string, options?: { qos?: MqttQos }): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** Resolves once sent (QoS 0) or acknowledged by the broker (QoS 1). */
  publish(topic: string, payload: Bytes, options?: { qos?: MqttQos; retain?: boolean }): Promise<void>;
  /** Registers a message listener; returns an unregister function. */
  onMessage(listener: (message: MqttMessage) => void): () => void;
  /** Called once when the connection is lost or closed (with the cause when lost). */
  onClose(listener: (cause?: unknown) => void): () => void;
}

export interface MqttClient {
  connect(options: MqttConnectOptions): Promise<MqttConnection>;
}

// UDP: connectionless push (OMA DM package #0 over WAP push, port 2948). Optional: not every device has it.

export interface UdpDatagram {
  payload: Bytes;
  /** The sender's address and port. */
  address: string;
  port: number;
}

export interface UdpBindOptions {
  /** 0 picks a free port (read it back from `socket.port`). */
  port: number;
  /** Local address to bind (default all interfaces on node, loopback on the mock). */
  address?: string;
}

export interface UdpSocket extends Closable {
  readonly port: number;
  /** Registers a datagram listener; returns an unregister function. */
  onMessage(listener: (datagram: UdpDatagram) => void): () => void;
  /** Sends one datagram (delivery is not guaranteed: UDP). */
  send(payload: Bytes, to: { address: string; port: number }): Promise<void>;
}

export interface Udp {
  /** Fails with `NetworkError` code `refused` when the port is taken. */
  bind(options: UdpBindOptions): Promise<UdpSocket>;
}

/** Where the device is, as far as the network tells (seeds 002/003: inside or outside the corporate firewall). */
export interface NetworkInfo {
  /** The DNS domain handed out by DHCP, if any (seed 002 `ucupdates-r2.<domain>`). */
  dhcpDomain?: string;
  /**
   * `inside`: on the organisation's network; `outside`: on someone else's; `unknown`: the host
   * cannot tell (the agent then decides by which service URL answers).
   */
  location: 'inside' | 'outside' | 'unknown';
}

export interface Net {
  http: HttpClient;
  dns: DnsResolver;
  mqtt: MqttClient;
  udp?: Udp;
  /** Network facts; absent on hosts that cannot tell (treated as `{ location: 'unknown' }`). */
  info?(): Promise<NetworkInfo>;
}

