/**
 * A throw-away certificate authority and a server certificate it signed, for 127.0.0.1 and
 * localhost, made with the `openssl` CLI (a system dependency of the tests) in a temp directory
 * that is removed again. Clients trust `ca`; servers use `cert` + `key`. Unlike a bare self-signed
 * leaf, this is the shape of a real deployment: the agent pins a CA, not the server's own cert.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificates {
  /** PEM of the CA certificate: what clients trust. */
  ca: string;
  /** PEM of the server certificate (signed by the CA). */
  cert: string;
  /** PEM of the server's private key. */
  key: string;
}

const run = promisify(execFile);

export async function generateCertificates(options: { days?: number } = {}): Promise<TestCertificates> {
  const days = String(options.days ?? 2);
  const dir = await mkdtemp(join(tmpdir(), 'dm-tls-'));
  const at = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-days', days, '-subj', '/CN=dm-agent test CA', '-keyout', at('ca.key'), '-out', at('ca.pem'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', at('server.key'), '-out', at('server.csr')]);
    await writeFile(
      at('server.ext'),
      ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', ''].join('\n'),
    );
    await run('openssl', [
      'x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', days,
      '-extfile', at('server.ext'), '-out', at('server.pem'),
    ]);
    const [ca, cert, key] = await Promise.all([readFile(at('ca.pem'), 'utf8'), readFile(at('server.pem'), 'utf8'), readFile(at('server.key'), 'utf8')]);
    return { ca, cert, key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
