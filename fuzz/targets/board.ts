/**
 * Board profiles (boards/*.json) through every validator that reads them: `checkBoard` (what
 * `dm-agent board check` prints) must never throw, `parseBoard` throws only BoardError, and the
 * Node HAL's `validateNodeOptions` accepts every profile `checkBoard` accepts (one profile, one
 * verdict: issue 9, item 12).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BoardError, checkBoard, parseBoard } from '../../agent/board.ts';
import { InvalidOptionsError } from '../../hal/errors.ts';
import { validateNodeOptions } from '../../hal/node/options.ts';
import type { FuzzTarget } from '../types.ts';
import { jsonBytes, jsonGenerator, parseJson } from '../support/json.ts';
import { vocabularyOf } from '../support/values.ts';

const BOARDS_DIR = fileURLToPath(new URL('../../boards/', import.meta.url));
const samples: unknown[] = readdirSync(BOARDS_DIR)
  .filter((file) => file.endsWith('.json') && !file.includes('schema'))
  .map((file) => JSON.parse(readFileSync(`${BOARDS_DIR}${file}`, 'utf8')));
const vocabulary = vocabularyOf(samples, { keys: ['offset', 'kind', 'emulator'], strings: ['staging', 'raw', 'quickjs'] });

export const target: FuzzTarget = {
  name: 'board',
  seeds: () => samples.map((sample) => jsonBytes(sample, true)),
  generate: jsonGenerator(samples, vocabulary),
  run(input) {
    const value = parseJson(input);
    const issues = checkBoard(value);
    if (!Array.isArray(issues) || issues.some((i) => typeof i.path !== 'string' || typeof i.message !== 'string')) throw new Error('checkBoard returned a malformed issue list');
    if (issues.length > 0) {
      parseBoard(value); // must throw BoardError
      throw new Error('parseBoard accepted a profile checkBoard refused');
    }
    parseBoard(value);
    try {
      validateNodeOptions({ workDir: '/nonexistent/fuzz', board: value as never });
    } catch (error) {
      if (error instanceof InvalidOptionsError) throw new Error(`the node HAL refused a profile checkBoard accepted: ${error.message}`);
      throw error;
    }
  },
  isExpected: (error) => error instanceof SyntaxError || error instanceof BoardError,
};
