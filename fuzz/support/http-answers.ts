/** Seeds and a generator of HTTP/1.x responses with bent framing, shared by the HTTP targets. */
import { NetworkError } from '../../hal/errors.ts';
import type { HttpClient } from '../../hal/types.ts';
import type { FuzzTarget } from '../types.ts';
import { below } from '../random.ts';

export const encoder = new TextEncoder();
export const ANSWERS = [
  'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: application/cbor\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-4/10\r\ncontent-length: 5\r\n\r\nhello',
  'HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/x\r\ncontent-length: 0\r\n\r\n',
  'HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n\r\nbody until close',
  'HTTP/1.0 200 OK\r\n\r\nno length',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
];
const TOKENS = ['HTTP/1.1 ', '\r\n', ': ', 'content-length', 'transfer-encoding', 'chunked', '\r\n\r\n', '0\r\n\r\n', 'ffffffff\r\n', '-1', '99999999999999999999'];


/** A plausible response with its framing bent: random status, header soup, lengths that lie. */
export function generateAnswer(random: () => number): Uint8Array {
  const parts = [`HTTP/1.${below(random, 3)} ${below(random, 1000)} X\r\n`];
  for (let i = below(random, 6); i > 0; i--) parts.push(`${TOKENS[below(random, TOKENS.length)]}: ${TOKENS[below(random, TOKENS.length)]}\r\n`);
  parts.push('\r\n');
  for (let i = below(random, 4); i > 0; i--) parts.push(TOKENS[below(random, TOKENS.length)] as string);
  return encoder.encode(parts.join(''));
}

/** True once `head` holds a whole request head (the answer may go). */
export const requestHeadDone = (head: string): boolean => head.includes('\r\n\r\n');

/**
 * A target that sends one GET through `client` to `url`, whose server answers with the input
 * (`setAnswer` hands it over): the response must parse or fail with a NetworkError in time.
 */
export function httpTarget(name: string, client: HttpClient, url: string, setAnswer: (input: Uint8Array) => void): FuzzTarget {
  return {
    name,
    timeoutMs: 3000,
    seeds: () => ANSWERS.map((text) => encoder.encode(text)),
    generate: generateAnswer,
    async run(input) {
      setAnswer(input);
      const response = await client.request({ method: 'GET', url, timeoutMs: 1000 });
      if (!Number.isInteger(response.status)) throw new Error(`status ${String(response.status)} is not an integer`);
      await response.bytes(1 << 20);
    },
    isExpected: (error) => error instanceof NetworkError,
  };
}
