/**
 * The Node HAL's HTTP client reading a response from a hostile server: a loopback TCP server
 * answers each request with the input's bytes verbatim (status line, headers, body, anything)
 * and closes. `request()` and `bytes()` must resolve or fail with a NetworkError, within the
 * request's idle timeout, and never throw anything else or leave an error unheard.
 * One TCP connection per input (a random answer cannot leave a connection reusable), so this
 * target runs at the speed of loopback connects; `http-memory` feeds the same client through an
 * in-memory connection for the million-input campaign.
 */
import { createServer, type Socket } from 'node:net';
import { createNodeNet } from '../../hal/node/net.ts';
import { httpTarget, requestHeadDone } from '../support/http-answers.ts';

let answer: Uint8Array = new Uint8Array(0);
const server = createServer({ noDelay: true }, (socket: Socket) => {
  socket.on('error', () => undefined); // the client may reset: that is its business, not a finding
  let head = '';
  socket.on('data', (chunk) => {
    if (requestHeadDone(head)) return;
    head += chunk.toString('latin1');
    if (requestHeadDone(head)) socket.end(answer);
  });
});
server.unref();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dm/v1/identify`;
const net = createNodeNet({ userAgent: 'dm-agent-fuzz' });

export const target = httpTarget('http-response', net.http, url, (input) => (answer = input));
