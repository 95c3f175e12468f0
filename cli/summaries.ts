/**
 * One line per command for `dm-agent --help`, kept here so the top-level help loads no command
 * module (issue 12: reading each module's `spec.summary` loaded all of them, mqtt and the OMA DM
 * server included, ~0.3 s). Each string must equal the command's own `spec.summary`:
 * test/cli/summaries.test.ts checks every command, so the two cannot drift. A command missing
 * here is still listed (main.ts then loads its module for the summary), only slower.
 */
export const SUMMARIES: Readonly<Record<string, string>> = {
  demo: 'start the reference server and a simulated board, converge, print a summary',
  run: 'run the agent: dm-agent run --board <board.json> --config <config.json>',
  server: 'start the reference server (manager): dm-agent server --fleet <fleet.json> [--port N]',
  'updates-server': 'start the reference device update web service: dm-agent updates-server --data-dir DIR [--import FOLDER]',
  board: 'validate board profiles: dm-agent board check <board.json>...',
  hash: 'print a file digest: dm-agent hash <file> [--algo sha256|md5] [--engine native|wasm|js|list]',
  diff: 'plan a package list change: dm-agent diff <installed.json> <desired.json> [--json]',
  syncml: 'SyncML codec: dm-agent syncml decode <file|-> [--json] | encode --wbxml <xml> | encode --xml <wbxml>',
  'omadm-server': 'start the reference OMA DM 1.2 server: dm-agent omadm-server --server-secret-file FILE [--package FILE] [--notify-udp HOST:PORT]',
  delta: 'apply a VCDIFF/bsdiff patch: dm-agent delta apply <source> <patch> <out> [--format vcdiff|bsdiff]',
  keys: 'release keys and the root of trust: dm-agent keys generate --out DIR | keys root --keys DIR --out METADIR',
  release: 'sign a release into targets metadata: dm-agent release sign --fleet FILE [--images FOLDER] --keys DIR --out METADIR',
  trust: 'verify signed update metadata as a device would: dm-agent trust verify <metadata dir> [--root FILE]',
};
