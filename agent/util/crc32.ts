/** CRC-32 (IEEE 802.3, reflected, as zlib). Used for store records and boot-control blocks. */

/**
 * The CRC of each nibble (4 bits at a time, two steps per byte). Not the usual 256-entry table: that
 * one is a 1 KiB Uint32Array (plus the typed array object) that a QuickJS heap kept for the
 * agent's whole life from the first store record on, through every FUMO download (issue 16);
 * these 16 entries are a constant of the code. Two lookups per byte instead of one: store records
 * are tens to hundreds of bytes.
 */
const NIBBLE = [
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278,
  0xbdbdf21c,
];

export function crc32(bytes: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i] as number;
    c = (NIBBLE[c & 15] as number) ^ (c >>> 4);
    c = (NIBBLE[c & 15] as number) ^ (c >>> 4);
  }
  return (c ^ 0xffffffff) >>> 0;
}
