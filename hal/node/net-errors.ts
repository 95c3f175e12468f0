import { HalError, NetworkError, type NetworkErrorCode } from '../errors.ts';

/** Node error codes (libuv, OpenSSL, http parser) → the contract's codes. Callers branch on code only. */
const BY_CODE: Record<string, NetworkErrorCode> = {
  ECONNREFUSED: 'refused',
  // "Could not reach it" is the same decision for the agent as refused: try later / another server.
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused',
  EADDRNOTAVAIL: 'refused',
  ECONNRESET: 'reset',
  ECONNABORTED: 'reset',
  EPIPE: 'reset',
  ERR_STREAM_PREMATURE_CLOSE: 'reset',
  ETIMEDOUT: 'timeout',
  ETIMEOUT: 'timeout', // c-ares spelling
  ENOTFOUND: 'notFound',
  ENODATA: 'notFound',
  EAI_NONAME: 'notFound',
  ENONAME: 'notFound',
  ABORT_ERR: 'aborted',
  ECANCELLED: 'aborted', // c-ares query cancelled by close()
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  CERT_REVOKED: 'tls',
  CERT_UNTRUSTED: 'tls',
  CERT_REJECTED: 'tls',
  HOSTNAME_MISMATCH: 'tls',
};

export function networkCodeOf(error: unknown): NetworkErrorCode {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string') {
    const mapped = Object.prototype.hasOwnProperty.call(BY_CODE, code) ? BY_CODE[code] : undefined;
    if (mapped) return mapped;
    if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_')) return 'tls';
    if (code === 'EPROTO' && /ssl|tls/i.test(message)) return 'tls';
    if (code.startsWith('HPE_') || code === 'ERR_INVALID_HTTP_RESPONSE') return 'protocol';
  }
  if (message === 'aborted' || message === 'socket hang up') return 'reset';
  return 'io';
}

/** Wraps a Node error as `NetworkError`; HAL errors (ours, already mapped) pass through. */
export function toNetworkError(error: unknown, context: string): HalError {
  if (error instanceof HalError) return error;
  const code = networkCodeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new NetworkError(code, `${context}: ${detail}`, { cause: error });
}
