/** Reader for NIST CAVP .rsp files (CRLF line endings, `key = value` records). */
import { readFileSync } from 'node:fs';

export type RspRecord = Record<string, string>;

export function readRsp(path: string): RspRecord[] {
  const records: RspRecord[] = [];
  let current: RspRecord = {};
  for (const raw of readFileSync(path, 'latin1').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) {
      if (Object.keys(current).length > 0) records.push(current);
      current = {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  if (Object.keys(current).length > 0) records.push(current);
  return records;
}
