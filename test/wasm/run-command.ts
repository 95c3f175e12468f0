/** Test wrapper: `node --import tsx test/wasm/run-command.ts <hash|diff> args…` runs one command as a process. */
import { run as diff } from '../../cli/commands/diff.ts';
import { run as hash } from '../../cli/commands/hash.ts';

const [name, ...args] = process.argv.slice(2);
process.exitCode = await (name === 'hash' ? hash : diff)(args, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
