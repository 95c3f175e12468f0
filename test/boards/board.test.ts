import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BoardError, checkBoard, checkLayout, DEFAULT_DOWNLOAD_CHUNK_BYTES, DEFAULT_MEMORY_BUDGET_BYTES, parseBoard, boardProfile } from '../../agent/board.ts';
import { InvalidOptionsError } from '../../hal/errors.ts';
import { validateNodeOptions } from '../../hal/node/options.ts';
import { BOARD_SCHEMA_FILE, boardSchemaText } from '../../scripts/board-schema.ts';
import { run as boardCommand } from '../../cli/commands/board.ts';

const boardsDir = new URL('../../boards/', import.meta.url);
const load = async (name: string) => JSON.parse(await readFile(new URL(name, boardsDir), 'utf8')) as Record<string, unknown>;
const capture = () => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
};

describe('board profiles', () => {
  it('ships the four profiles and all of them are valid', async () => {
    const files = (await readdir(boardsDir)).filter((f) => f.endsWith('.json') && !f.includes('schema')).sort();
    expect(files).toEqual(['qemu-arm64.json', 'qemu-armv7.json', 'quickjs-small.json', 'sim.json']);
    for (const file of files) expect(checkBoard(await load(file)), file).toEqual([]);
  });

  it('parseBoard fills defaults and keeps the partitions', async () => {
    const board = parseBoard(await load('sim.json'));
    expect(board.partitions.find((p) => p.name === 'state')).toMatchObject({ kind: 'raw' });
    expect(board.partitions.find((p) => p.name === 'packages')).toMatchObject({ kind: 'staging' });
  });

  it('the JSON schema is generated from agent/board.ts and sits outside the boards/*.json glob', async () => {
    const committed = await readFile(BOARD_SCHEMA_FILE, 'utf8');
    expect(committed, 'boards/schema/board.schema.json is stale: npm run board-schema').toBe(boardSchemaText());
    const schema = JSON.parse(committed);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(boardProfile()).sort());
    expect((await readdir(boardsDir)).filter((f) => f.includes('schema') && f.endsWith('.json'))).toEqual([]);
  });

  it('every profile field is read: memoryBudgetBytes and downloadChunkBytes default, transports is gone', async () => {
    const board = await load('sim.json');
    delete board.memoryBudgetBytes;
    delete board.downloadChunkBytes;
    expect(checkBoard(board)).toEqual([]);
    expect(parseBoard(board)).toMatchObject({ memoryBudgetBytes: DEFAULT_MEMORY_BUDGET_BYTES, downloadChunkBytes: DEFAULT_DOWNLOAD_CHUNK_BYTES });
    expect(checkBoard({ ...board, transports: ['http'] }).map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(/transports: unknown key/);
  });

  it('the Node HAL gives the same verdict on a layout as board check (one set of rules)', async () => {
    const sim = await load('sim.json');
    const layouts: [string, (b: Record<string, any>) => void][] = [
      ['flash erasing to zero', (b) => { b.flash.eraseValue = 0; }],
      ['a partition at an unsafe offset', (b) => { b.partitions[2].offset = 2 ** 60; }],
      ['two staging areas', (b) => { b.partitions.push({ name: 'more', size: 4096, kind: 'staging' }); }],
      ['a raw partition without offset', (b) => { delete b.partitions[3].offset; }],
      ['overlapping partitions', (b) => { b.partitions[2].offset = b.partitions[1].offset; }],
    ];
    for (const [label, mutate] of layouts) {
      const board = structuredClone(sim);
      mutate(board);
      expect(checkBoard(board).length, label).toBeGreaterThan(0);
      expect(checkLayout(board).length, label).toBeGreaterThan(0);
      expect(() => validateNodeOptions({ workDir: '/nonexistent', board: board as never }), label).toThrow(InvalidOptionsError);
    }
    expect(() => validateNodeOptions({ workDir: '/nonexistent', board: sim as never })).not.toThrow();
  });

  type Mutate = (board: Record<string, any>) => void;
  const broken: [string, Mutate, RegExp][] = [
    ['an unknown key', (b) => { b.flashSize = 1; }, /flashSize: unknown key/],
    ['an unknown partition key', (b) => { b.partitions[0].mode = 'ro'; }, /partitions\[0\]\.mode: unknown key/],
    ['a missing field', (b) => { delete b.description; }, /description: missing/],
    ['a missing required partition', (b) => { b.partitions = b.partitions.filter((p: any) => p.name !== 'slot_b'); }, /missing required partition slot_b/],
    ['overlapping partitions', (b) => { b.partitions[2].offset = b.partitions[1].offset; }, /overlaps/],
    ['a size that is not a multiple of the block size', (b) => { b.partitions[3].size += 100; }, /is not a multiple of the block length 4096/],
    ['a misaligned offset', (b) => { b.partitions[1].offset += 512; }, /offset.*not a multiple/],
    ['a write alignment that does not divide the block', (b) => { b.flash.writeAlign = 24; }, /does not divide/],
    ['a tiny state partition', (b) => { b.partitions[1].size = 4096; }, /at least two erase blocks/],
    ['a duplicate partition', (b) => { b.partitions[4].name = 'state'; }, /duplicate partition name state/],
    ['a wrong type', (b) => { b.downloadChunkBytes = '64k'; }, /downloadChunkBytes: must be a positive integer/],
    ['a chunk size beyond the memory budget', (b) => { b.downloadChunkBytes = b.memoryBudgetBytes; }, /quarter of the memory budget/],
    ['flash erasing to zero', (b) => { b.flash.eraseValue = 0; }, /erases to 255/],
    ['an offset on a staging partition', (b) => { b.partitions.find((p: any) => p.kind === 'staging')!.offset = 0; }, /staging partition has no offset/],
  ];
  it.each(broken)('rejects %s with a readable message', async (_name, mutate, message) => {
    const board = structuredClone(await load('sim.json'));
    mutate(board);
    const issues = checkBoard(board);
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(message);
    expect(() => parseBoard(board)).toThrow(BoardError);
  });

  it('reports every problem at once, not just the first', () => {
    const issues = checkBoard({ name: 'X Y', runtime: 'java', partitions: [] });
    expect(issues.length).toBeGreaterThanOrEqual(6);
  });
});

describe('dm-agent board check', () => {
  it('passes boards/*.json as the README runs it (the glob holds only profiles)', async () => {
    const files = (await readdir(boardsDir)).filter((f) => f.endsWith('.json')).map((f) => `boards/${f}`);
    const { out, io } = capture();
    expect(await boardCommand(['check', ...files], io), out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n')).toHaveLength(files.length);
  });

  it('passes the shipped profiles', async () => {
    const { out, io } = capture();
    const files = ['sim', 'qemu-arm64', 'qemu-armv7', 'quickjs-small'].map((n) => `boards/${n}.json`);
    expect(await boardCommand(['check', ...files], io)).toBe(0);
    expect(out.stdout.trim().split('\n')).toHaveLength(4);
  });

  it('rejects a broken profile with a readable error and exit 1', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'board-'));
    const board = await load('sim.json');
    (board.partitions as any[])[2].offset = 12288; // inside state (8192..73728)
    board.colour = 'blue';
    await writeFile(join(dir, 'bad.json'), JSON.stringify(board));
    await writeFile(join(dir, 'junk.json'), '{ not json');
    const { out, io } = capture();
    expect(await boardCommand(['check', join(dir, 'bad.json')], io)).toBe(1);
    expect(out.stderr).toMatch(/bad\.json: 2 problems/);
    expect(out.stderr).toMatch(/colour: unknown key/);
    expect(out.stderr).toMatch(/slot_a .* overlaps state/);
    // Unusable input is exit 2 here as in every command (README "Exit codes").
    const junk = capture();
    expect(await boardCommand(['check', join(dir, 'junk.json')], junk.io)).toBe(2);
    expect(junk.out.stderr).toMatch(/junk\.json: malformed JSON/);
    const missing = capture();
    expect(await boardCommand(['check', join(dir, 'nope.json')], missing.io)).toBe(2);
    expect(missing.out.stderr).toMatch(/no such file/);
    expect(await boardCommand(['verify'], capture().io)).toBe(2);
  });
});
