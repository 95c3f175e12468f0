/** CRC-32 (IEEE 802.3, reflected, as zlib). Used for store records and boot-control blocks. */

let table: Uint32Array | undefined;

export function crc32(bytes: Uint8Array, seed = 0): number {
  let t = table;
  if (!t) {
    t = table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
  }
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
