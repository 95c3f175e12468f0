/**
 * Content types of SyncML DM messages and telling a message's encoding from its bytes or its type:
 * the DM client answers in the encoding the server used.
 */
import type { SyncmlEncoding } from './model.ts';

/** Inlined where used (a `const enum`): the DM client's bundle then has no module variable for them (each a name in a QuickJS heap). */
const enum ContentType {
  xml = 'application/vnd.syncml.dm+xml',
  wbxml = 'application/vnd.syncml.dm+wbxml',
}

export const CONTENT_TYPE_XML = ContentType.xml;
export const CONTENT_TYPE_WBXML = ContentType.wbxml;

export function contentTypeFor(encoding: SyncmlEncoding): string {
  return encoding === 'wbxml' ? ContentType.wbxml : ContentType.xml;
}

/**
 * Encoding named by a Content-Type header (parameters ignored; the DS types
 * `application/vnd.syncml+xml|+wbxml` too), or undefined when it names neither.
 */
export function encodingFromContentType(contentType: string): SyncmlEncoding | undefined {
  const type = (contentType.split(';', 1)[0] as string).trim().toLowerCase();
  if (!type.startsWith('application/vnd.syncml')) return undefined;
  if (type.endsWith('+wbxml')) return 'wbxml';
  if (type.endsWith('+xml')) return 'xml';
  return undefined;
}

/**
 * Encoding of a message from its first bytes: WBXML starts with its version byte (0x00–0x03, WBXML
 * 1.0–1.3); XML with `<` after an optional UTF-8 byte-order mark and white space. Undefined: neither.
 */
export function detectEncoding(bytes: Uint8Array): SyncmlEncoding | undefined {
  const first = bytes[0];
  if (first === undefined) return undefined;
  if (first <= 0x03) return bytes.length >= 4 ? 'wbxml' : undefined;
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x3c ? 'xml' : undefined;
}
