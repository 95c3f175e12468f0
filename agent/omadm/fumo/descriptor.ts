/**
 * OMA Download OTA 1.0 download descriptors (`application/vnd.oma.dd+xml`): a FUMO PkgURL may
 * point at one instead of the package. What we use of it: `objectURI` (where the package is),
 * `size`, `type`, `installNotifyURI` (where the download's status report goes: 900 Success or a
 * 9xx failure, POSTed as text) and `DDVersion` (1.x). The DD is flat XML; it is read with a
 * small scanner (no DOM on the device), entities decoded, unknown elements ignored. A lazy chunk:
 * loaded by the first PkgURL that answers with a descriptor (./source.ts).
 */
import { DD_MAX_BYTES, INSTALL_STATUS } from './install-status.ts';

export interface DownloadDescriptor {
  objectURI: string;
  size: number;
  type: string;
  installNotifyURI?: string;
  name?: string;
  version?: string;
}

export class DescriptorError extends Error {
  constructor(
    readonly status: INSTALL_STATUS.invalidDescriptor | INSTALL_STATUS.invalidDdVersion,
    message: string,
  ) {
    super(message);
    this.name = 'DescriptorError';
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] as string),
    )
    .trim();
}

/** The text of the first `<name>` child of the media element (prefixes ignored), or undefined. */
function field(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${name}\\s*>`).exec(xml);
  return match ? decode(match[1] as string) : undefined;
}

const HTTP_URL = /^https?:\/\/[^\s]+$/i;

export function parseDescriptor(xml: string): DownloadDescriptor {
  if (xml.length > DD_MAX_BYTES || !/<(?:[\w-]+:)?media[\s>]/.test(xml)) throw new DescriptorError(INSTALL_STATUS.invalidDescriptor, 'not a download descriptor (no media element)');
  const version = field(xml, 'DDVersion');
  if (version !== undefined && !/^1(\.\d+)?$/.test(version)) throw new DescriptorError(INSTALL_STATUS.invalidDdVersion, `DDVersion ${version.slice(0, 16)} not supported`);
  const objectURI = field(xml, 'objectURI');
  const size = Number(field(xml, 'size'));
  const type = field(xml, 'type');
  const installNotifyURI = field(xml, 'installNotifyURI');
  const name = field(xml, 'name');
  if (!objectURI || !HTTP_URL.test(objectURI)) throw new DescriptorError(INSTALL_STATUS.invalidDescriptor, 'objectURI missing or not an http(s) URL');
  if (!Number.isSafeInteger(size) || size <= 0) throw new DescriptorError(INSTALL_STATUS.invalidDescriptor, 'size missing or not a positive integer');
  if (!type) throw new DescriptorError(INSTALL_STATUS.invalidDescriptor, 'type missing');
  if (installNotifyURI !== undefined && !HTTP_URL.test(installNotifyURI)) throw new DescriptorError(INSTALL_STATUS.invalidDescriptor, 'installNotifyURI not an http(s) URL');
  return { objectURI, size, type, ...(installNotifyURI ? { installNotifyURI } : {}), ...(name ? { name } : {}), ...(version ? { version } : {}) };
}
