/**
 * Writes boards/schema/board.schema.json from agent/board.ts (the profile's one source of truth).
 * `npm run board-schema`; test/boards fails when the committed file is stale.
 */
import { writeFile } from 'node:fs/promises';
import { boardJsonSchema } from '../agent/board-schema.ts';

export const BOARD_SCHEMA_FILE = new URL('../boards/schema/board.schema.json', import.meta.url);
export const boardSchemaText = (): string => `${JSON.stringify(boardJsonSchema(), null, 2)}\n`;

if (process.argv[1]?.endsWith('board-schema.ts')) {
  await writeFile(BOARD_SCHEMA_FILE, boardSchemaText());
  console.log(`wrote ${BOARD_SCHEMA_FILE.pathname}`);
}
