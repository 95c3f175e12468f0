/**
 * Connectionless WAP push (WAP-230-WSP §8.2.4.1, the UDP bearer of DM_Notification 1.2 on port
 * 2948): TID 1 | PDU type 0x06 (Push) | HeadersLen uintvar | Content-Type + headers | body.
 * Package #0 travels with Content-Type `application/vnd.syncml.notification` (well-known 0x44) and
 * X-Wap-Application-Id `x-wap-application:syncml.dm` (0x07). Both directions live here so the
 * reference server and the client's UDP listener share one definition.
 */
import { utf8Decode } from '../../util/bytes.ts';
import { OmaDmError } from '../errors.ts';
import { NOTIFICATION_CONTENT_TYPE } from '../notification.ts';

const PDU_PUSH = 0x06;
const CT_SYNCML_NOTIFICATION = 0x44;
const HEADER_APPLICATION_ID = 0x2f;
const APP_SYNCML_DM = 0x07;

/** Wraps package #0 in a connectionless push PDU. */
export function encodeWapPush(body: Uint8Array, tid = 0): Uint8Array {
  const headers = [0x80 | CT_SYNCML_NOTIFICATION, 0x80 | HEADER_APPLICATION_ID, 0x80 | APP_SYNCML_DM];
  const out = new Uint8Array(3 + headers.length + body.length);
  out.set([tid & 0xff, PDU_PUSH, headers.length, ...headers], 0);
  out.set(body, 3 + headers.length);
  return out;
}

/** The package #0 inside a push PDU; anything else (another content type, a truncated PDU) is an OmaDmError('notification'). */
export function decodeWapPush(pdu: Uint8Array): Uint8Array {
  if (pdu.length < 4 || pdu[1] !== PDU_PUSH) throw new OmaDmError('notification', 'not a WAP push PDU');
  let at = 2;
  let headersLength = 0;
  for (let i = 0; ; i++) {
    const byte = pdu[at++];
    if (byte === undefined || i > 4) throw new OmaDmError('notification', 'WAP push headers length truncated');
    headersLength = headersLength * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  const end = at + headersLength;
  if (headersLength < 1 || end > pdu.length) throw new OmaDmError('notification', 'WAP push headers truncated');
  const first = pdu[at] as number;
  let ok = first === (0x80 | CT_SYNCML_NOTIFICATION);
  if (!ok && first >= 0x20 && first < 0x80) {
    const nul = pdu.indexOf(0, at);
    ok = nul > at && nul < end && utf8Decode(pdu.subarray(at, nul)).split(';')[0]?.trim().toLowerCase() === NOTIFICATION_CONTENT_TYPE;
  }
  if (!ok) throw new OmaDmError('notification', 'WAP push is not a SyncML DM notification');
  return pdu.slice(end);
}
