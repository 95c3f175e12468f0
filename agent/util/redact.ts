/**
 * Redaction of secrets that ride inside URLs: the userinfo of `scheme://user:pass@host/…` and the
 * values of query parameters that carry a signature or a credential (`sig=`, `X-Amz-Signature=`,
 * `token=`, …). Every place that logs, reports or prints a URL — or an error message that may
 * contain one — passes it through here, so a manager's credentials or a signed artifact URL never
 * reach a log line, a status report, an error message or the CLI's output. Portable (no URL class:
 * QuickJS has none), and total: any string in, a string out, never a throw.
 */

import { setOwn } from './own.ts';

export const REDACTED = 'REDACTED';

/**
 * Query parameter names whose values are secrets. Matched case-insensitively against the whole
 * name or a `-`/`_`/`.`-separated part of it, so `X-Amz-Signature`, `access_token` and `api.key` match
 * while `keyboard` or `tokens_left` does not get mangled.
 */
// One string rather than a Set: the same words at a fraction of a QuickJS heap's cost (a Set
// keeps a record per entry for the agent's life). Each word between spaces.
const SECRET_PARTS = ' sig signature token secret password passwd pass pwd credential credentials key apikey auth authorization session jwt code ';
const isSecretPart = (part: string): boolean => part !== '' && !part.includes(' ') && SECRET_PARTS.includes(` ${part} `);

export function isSecretParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape: judge the raw name.
  }
  const lower = decoded.toLowerCase();
  if (isSecretPart(lower)) return true;
  return lower.split(/[-_.]/).some(isSecretPart);
}

/**
 * `scheme://` followed by anything up to whitespace, quotes or angle brackets, but not the
 * punctuation that closes the sentence around it: "(see http://x/?a=b)." (the last character is
 * none of `).,;:!?]`).
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*[^\s"'<>`).,;:!?\]]/gi;

/** One URL with its userinfo and secret query values replaced by `REDACTED`. */
export function redactUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return redactQuery(url);
  const authorityStart = schemeEnd + 3;
  let authorityEnd = url.length;
  for (const stop of ['/', '?', '#']) {
    const at = url.indexOf(stop, authorityStart);
    if (at >= 0 && at < authorityEnd) authorityEnd = at;
  }
  const authority = url.slice(authorityStart, authorityEnd);
  // The last '@' ends the userinfo (a password may contain an unescaped '@').
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? `${REDACTED}@${authority.slice(at + 1)}` : authority;
  return `${url.slice(0, authorityStart)}${host}${redactQuery(url.slice(authorityEnd))}`;
}

/** The path/query/fragment part: values of secret parameters replaced, everything else kept. */
function redactQuery(rest: string): string {
  const queryStart = rest.indexOf('?');
  if (queryStart < 0) return rest;
  const hash = rest.indexOf('#', queryStart);
  const queryEnd = hash >= 0 ? hash : rest.length;
  return `${rest.slice(0, queryStart)}${rest.slice(queryStart, queryEnd).replace(QUERY_PARAMETER, redactParameter)}${rest.slice(queryEnd)}`;
}

/** `name=value` in a query (after `?`, `&` or `;`): the name is what comes before the first `=`. */
const QUERY_PARAMETER = /([?&;])([^&;=]*)=[^&;]*/g;

/** A replacer for `(separator)(name)=value` matches: the value of a secret parameter redacted. */
function redactParameter(whole: string, separator: string, name: string): string {
  return isSecretParameter(name) ? `${separator}${name}=${REDACTED}` : whole;
}

/** `?name=value` / `&name=value` outside a recognisable URL (a scheme-less or truncated one); the value, as a URL, without closing punctuation. */
const PARAMETER_IN_TEXT = /([?&;])([^=\s&;#?"'<>]+)=(?:[^\s&;#"'<>]*[^\s&;#"'<>).,:!?\]])?/g;

/**
 * `Bearer <token>` (an Authorization header quoted in an error or a log line): a device or admin
 * token. Tokens are long (admin tokens ≥ 16 characters), so prose such as "the bearer of" is kept.
 */
const BEARER_IN_TEXT = /\b(bearer)(\s+)[^\s"'<>,;]{12,}/gi;

/** Free text (an error message, a command's output) with every URL and bearer token in it redacted. */
export function redactText(text: string): string {
  return text
    .replace(BEARER_IN_TEXT, `$1$2${REDACTED}`)
    .replace(URL_IN_TEXT, redactUrl)
    .replace(PARAMETER_IN_TEXT, redactParameter);
}

/**
 * A structured value (log fields, a summary) with every string in it redacted; objects and
 * arrays are copied, bytes and other values kept. Depth-bounded: a cycle cannot hang it.
 */
export function redactDeep<T>(value: T, depth = 8): T {
  if (typeof value === 'string') return redactText(value) as unknown as T;
  if (depth <= 0 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth - 1)) as unknown as T;
  if (value instanceof Error) return redactText(value.message) as unknown as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    // A header object logged whole: its Authorization value is a credential whatever its form.
    setOwn(out, key, key.toLowerCase() === 'authorization' && typeof item === 'string' ? REDACTED : redactDeep(item, depth - 1));
  }
  return out as T;
}

/** The free-text fields of a status report (or an outbox entry holding one). */
export interface StatusText {
  error?: { code: string; message: string };
  output?: string;
}

/**
 * A status report's error message and output tail redacted: they can quote a signed artifact URL
 * or a manager URL with credentials. Never longer than before (`sig=a` → `sig=REDACTED` grows), so
 * the schema's length caps still hold; the message keeps its head, the output its tail (where a
 * failing command says why). Apply where a report is built or queued, and where it is sent.
 */
export function redactStatusFields<T extends StatusText>(status: T): T {
  const out: T = { ...status };
  if (status.error) out.error = { ...status.error, message: redactText(status.error.message).slice(0, status.error.message.length) };
  if (status.output !== undefined) {
    const output = redactText(status.output);
    out.output = output.slice(Math.max(0, output.length - status.output.length));
  }
  return out;
}
