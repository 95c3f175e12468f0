/**
 * fast-check generators of SyncML models that an encode → decode round trip must give back equal:
 * leaf text without surrounding XML white space (the builder trims it), flags only `true`, arrays
 * non-empty (an empty list writes nothing), raw Data content with at least one element and no two
 * adjacent strings (they would merge). `binary` adds byte Data (WBXML OPAQUE; XML has no bytes).
 */
import fc from 'fast-check';
import type { Command, DataValue, Item, Location, Meta, SyncHdr, SyncMLMessage, XmlContent, XmlElement } from '../../agent/syncml/model.ts';

const CHARS = ['a', 'Z', '0', '.', '/', ' ', '&', '<', '>', '"', "'", ']', '\n', '\t', '\r', 'é', '€', '😀', ';', '=', ':', '-'];
const anyText = fc.array(fc.constantFrom(...CHARS), { maxLength: 24 }).map((chars) => chars.join(''));
const trimXml = (text: string) => text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
export const leafText = anyText.map(trimXml);
const flag = fc.constant(true as const);
const list = <T>(arb: fc.Arbitrary<T>, max = 3) => fc.array(arb, { minLength: 1, maxLength: max });
const opt = <T extends object>(shape: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(shape, { requiredKeys: [] }) as fc.Arbitrary<T>;

const rawName = fc.constantFrom('Enabled', 'MgmtTree', 'Node', 'NodeName', 'x-vendor', 'DevInf', 'Format', 'LocURI');

/** Raw content: elements with optional text between them, never two strings in a row. */
const rawContent: fc.Arbitrary<XmlContent> = fc.letrec<{ element: XmlElement; content: XmlContent }>((tie) => ({
  element: fc.record({ name: rawName, children: fc.oneof({ depthSize: 'small' }, fc.constant([] as XmlContent), tie('content')) }),
  content: fc
    .array(fc.tuple(fc.option(anyText.filter((text) => text !== ''), { nil: undefined }), tie('element')), { minLength: 1, maxLength: 3 })
    .chain((pairs) =>
      fc.option(anyText.filter((text) => text !== ''), { nil: undefined }).map((tail) => {
        const out: XmlContent = [];
        for (const [text, element] of pairs) {
          if (text !== undefined) out.push(text);
          out.push(element);
        }
        if (tail !== undefined) out.push(tail);
        return out;
      }),
    ),
})).content;

function dataValue(binary: boolean): fc.Arbitrary<DataValue> {
  const choices: Array<fc.Arbitrary<DataValue>> = [anyText, rawContent];
  if (binary) choices.push(fc.uint8Array({ maxLength: 40 }));
  return fc.oneof(...choices);
}

const location: fc.Arbitrary<Location> = opt<Location>({ locURI: leafText, locName: leafText });

const meta: fc.Arbitrary<Meta> = opt<Meta>({
  fieldLevel: flag,
  format: fc.constantFrom('b64', 'chr', 'int', 'bin', 'node', 'xml'),
  type: leafText,
  mark: fc.constantFrom('critical', 'informational'),
  size: fc.nat().map(String),
  anchor: opt({ last: leafText, next: leafText }),
  version: leafText,
  nextNonce: leafText,
  maxMsgSize: fc.nat().map(String),
  maxObjSize: fc.nat().map(String),
  emi: list(leafText),
  mem: opt({ sharedMem: flag, freeMem: leafText, freeID: leafText }),
});

const cred = (binary: boolean) => opt({ meta, data: dataValue(binary) });

function item(binary: boolean): fc.Arbitrary<Item> {
  return opt<Item>({ target: location, source: location, sourceParent: location, targetParent: location, meta, data: dataValue(binary), moreData: flag });
}

const cmdID = fc.integer({ min: 1, max: 999 }).map(String);

// What each container may hold (the RepPro DTD, as schema.ts has it).
const TOP = ['Add', 'Alert', 'Atomic', 'Copy', 'Delete', 'Exec', 'Get', 'Map', 'Move', 'Replace', 'Results', 'Sequence', 'Status', 'Sync'];
const IN_ATOMIC = ['Add', 'Alert', 'Atomic', 'Copy', 'Delete', 'Exec', 'Get', 'Map', 'Move', 'Replace', 'Sequence', 'Sync'];
const IN_SEQUENCE = IN_ATOMIC.filter((name) => name !== 'Sequence');
const IN_SYNC = ['Add', 'Atomic', 'Copy', 'Delete', 'Move', 'Replace', 'Sequence'];

function commands(binary: boolean, depth: number, allowed: readonly string[] = TOP): fc.Arbitrary<Command> {
  const items = list(item(binary));
  const base = { cmdID, noResp: flag, cred: cred(binary), meta };
  const withCmd = <T extends Command>(cmd: T['cmd'], arb: fc.Arbitrary<Omit<T, 'cmd'>>): [string, fc.Arbitrary<Command>] => [cmd, arb.map((body) => ({ cmd, ...body }) as T)];
  const inner = (names: readonly string[]) => list(commands(binary, depth - 1, names), 2);
  const all: Array<[string, fc.Arbitrary<Command>]> = [
    ...(['Add', 'Copy', 'Replace', 'Move'] as const).map((cmd) => withCmd(cmd, opt({ ...base, items }))),
    withCmd('Get', opt({ ...base, lang: leafText, items })),
    withCmd('Delete', opt({ ...base, archive: flag, sftDel: flag, items })),
    withCmd('Alert', opt({ cmdID, noResp: flag, cred: cred(binary), data: dataValue(binary), correlator: leafText, items })),
    withCmd('Exec', opt({ ...base, correlator: leafText, items })),
    withCmd('Map', opt({ cmdID, target: location, source: location, cred: cred(binary), meta, mapItems: list(opt({ target: location, source: location })) })),
    withCmd('Status', opt({
      cmdID, msgRef: cmdID, cmdRef: cmdID, refCmd: fc.constantFrom('SyncHdr', 'Alert', 'Get', 'Replace'), targetRefs: list(leafText), sourceRefs: list(leafText),
      cred: cred(binary), chal: opt({ meta }), data: dataValue(binary), items,
    })),
    withCmd('Results', opt({ cmdID, msgRef: cmdID, cmdRef: cmdID, meta, targetRefs: list(leafText), sourceRefs: list(leafText), items })),
  ];
  if (depth > 0) {
    all.push(
      withCmd('Atomic', opt({ cmdID, noResp: flag, meta, commands: inner(IN_ATOMIC) })),
      withCmd('Sequence', opt({ cmdID, noResp: flag, meta, commands: inner(IN_SEQUENCE) })),
      withCmd('Sync', opt({ ...base, target: location, source: location, numberOfChanges: fc.nat().map(String), commands: inner(IN_SYNC) })),
    );
  }
  // Containers are rarer than leaves, so the models stay small.
  return fc.oneof(...all.filter(([name]) => allowed.includes(name)).map(([name, arbitrary]) => ({ arbitrary, weight: ['Atomic', 'Sequence', 'Sync'].includes(name) ? 1 : 4 })));
}

const hdr = (binary: boolean): fc.Arbitrary<SyncHdr> =>
  opt<SyncHdr>({
    verDTD: fc.constantFrom('1.1', '1.2'), verProto: fc.constantFrom('DM/1.1', 'DM/1.2'), sessionID: leafText, msgID: cmdID,
    target: location, source: location, respURI: leafText, noResp: flag, cred: cred(binary), meta,
  });

export function message(options: { binary: boolean }): fc.Arbitrary<SyncMLMessage> {
  return fc.record(
    {
      hdr: hdr(options.binary),
      body: fc.record({ commands: fc.array(commands(options.binary, 2), { maxLength: 6 }), final: flag }, { requiredKeys: ['commands'] }),
    },
    { requiredKeys: ['body'] },
  );
}
