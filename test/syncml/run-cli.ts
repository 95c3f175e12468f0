/** Test wrapper: `node --import tsx test/syncml/run-cli.ts syncml …` runs the dm-agent dispatcher as a process. */
import { main } from '../../cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
