/**
 * The same client code as `http-response` (the Node HAL's NodeHttpClient over node:http's
 * parser), but each connection is an in-memory stream that answers the request head with the
 * input's bytes and ends: no TCP, so a million inputs take minutes instead of an hour.
 */
import http from 'node:http';
import https from 'node:https';
import { Duplex } from 'node:stream';
import { NodeHttpClient } from '../../hal/node/net-http.ts';
import { httpTarget, requestHeadDone } from '../support/http-answers.ts';

let answer: Uint8Array = new Uint8Array(0);

/** A connection that plays the server: reads the request head, writes the answer, ends. */
function memoryConnection(): Duplex {
  let head = '';
  return new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      if (!requestHeadDone(head)) {
        head += chunk.toString('latin1');
        if (requestHeadDone(head)) {
          this.push(Buffer.from(answer));
          this.push(null);
        }
      }
      callback();
    },
  });
}

class MemoryAgent extends http.Agent {
  override createConnection(): Duplex {
    return memoryConnection();
  }
}

const client = new NodeHttpClient({ httpAgent: new MemoryAgent({ keepAlive: false }), httpsAgent: new https.Agent(), ensureOpen: () => undefined });

export const target = httpTarget('http-memory', client, 'http://device.invalid/dm/v1/identify', (input) => (answer = input));
