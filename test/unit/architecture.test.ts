/**
 * The import boundaries of src/. LAYERS below is the architecture's one written statement
 * (docs/architecture.md draws it): every import in src/ (static, `export ... from`, dynamic
 * `import()`, `import('...')` types; type-only imports count, they couple too) is resolved to
 * the unit it lands in, a top folder of src/ or a file at its root, and checked against it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Which side of the wire a layer serves: client-side code reaches a server only through the
 * wire protocol (so bots and the load tester work against a remote host), and the server
 * never runs client code. Shared layers serve both.
 */
type Side = 'shared' | 'server' | 'client' | 'top';

interface Layer {
  /** Top folders of src/ (`rtc`) or files at its root (`app.ts`). Units of one layer do not import each other. */
  units: readonly string[];
  side: Side;
}

/**
 * The layers of src/, bottom to top. A module may import its own unit, the leaves, and the
 * units of the layers below its own; never a unit of a higher layer, nor another unit of its
 * own layer; and a client-side unit never a server-side one (nor the reverse).
 */
const LAYERS: readonly Layer[] = [
  // The contract and the pure code, no I/O but a clock. protocol/: /ws and /ws/pcm messages,
  // validators, close codes. media/: RTP, RTCP, Ogg, WAV, PCM, Opus, VP8, IVF, frame sources.
  // time/: the clock, the pacer, the token bucket.
  { units: ['protocol', 'media', 'time'], side: 'shared' },
  // node-datachannel, and only here: Peer, tracks, OpusSender, RtpReceiver, SDP, ICE servers.
  { units: ['rtc'], side: 'shared' },
  // Rooms, members and the one media interface a room talks to: no sockets, no media stack.
  { units: ['rooms'], side: 'server' },
  // The server's services: the /ws session, the SFU router, the /ws/pcm pairing, the mesh
  // gateway (a PCM leg as a server-side mesh participant), and auth (tokens, the access policy
  // rooms ask). They meet in rooms/ and app.ts, never in each other.
  { units: ['signaling', 'sfu', 'pcm', 'gateway', 'auth'], side: 'server' },
  // HTTP: routes, static files, the origin check, certificates, Prometheus metrics.
  // Rooms across nodes (--redis, --workers): relays joins and PCM pairs between nodes, above
  // the services it relays for.
  { units: ['cluster'], side: 'server' },
  { units: ['server'], side: 'server' },
  // Node clients of the wire protocol: SignalingClient, the agents, PcmClient, audio files.
  { units: ['client'], side: 'client' },
  // Room members (bot, recorder) and the load generator, standing on client/.
  { units: ['bots', 'loadtest'], side: 'client' },
  // The composition root of `callpeer serve`: the one place that knows every service.
  { units: ['app.ts'], side: 'server' },
  // The library's public API: re-exports from both sides.
  { units: ['index.ts'], side: 'top' },
  // The commands: flags -> typed params -> call the module. Nothing imports cli/.
  { units: ['cli'], side: 'top' },
];

/**
 * Leaves, free to all: any module may import them. They import only each other, except that
 * config.ts may import types from protocol/ (the ICE server and topology it validates).
 */
const LEAVES: readonly string[] = ['errors.ts', 'log.ts', 'config.ts'];
const LEAF_EXCEPTION = { from: 'config.ts', to: 'protocol', typeOnly: true } as const;

/** Packages one unit owns: nobody else imports them. */
const PACKAGE_OWNERS: Readonly<Record<string, readonly string[]>> = {
  // The media stack stays behind rtc/: rooms and services know it only through interfaces.
  'node-datachannel': ['rtc'],
  commander: ['cli'],
};

/**
 * Imports that break the rules today, each exact (importing file, imported file) with the
 * reason; an entry that matches no import fails the test, so none outlives its fix.
 */
const ALLOWED: readonly (readonly [from: string, to: string, why: string])[] = [];

interface Import {
  specifier: string;
  line: number;
  /**
   * `import type`, `export type ... from` or an `import('...')` type: erased from the output.
   * (`import { type X }` is not: under verbatimModuleSyntax it still loads the module.)
   */
  typeOnly: boolean;
}

/** Every module specifier `text` imports, with its line (1-based). */
function importsOf(fileName: string, text: string): Import[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Import[] = [];
  const add = (spec: ts.Node | undefined, at: ts.Node, typeOnly: boolean) => {
    const line = sf.getLineAndCharacterOfPosition(at.getStart(sf)).line + 1;
    // A computed dynamic import cannot be checked: reported as such rather than skipped.
    out.push({ specifier: spec && ts.isStringLiteralLike(spec) ? spec.text : '<computed>', line, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], node, false);
    } else if (ts.isImportTypeNode(node)) {
      add(ts.isLiteralTypeNode(node.argument) ? node.argument.literal : undefined, node, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The unit of a path relative to src/: its top folder, or the file itself at the root. */
function unitOf(rel: string): string {
  return rel.split('/')[0]!;
}

function layerIndex(unit: string): number {
  return LAYERS.findIndex((l) => l.units.includes(unit));
}

function describeUnit(unit: string): string {
  const i = layerIndex(unit);
  return LEAVES.includes(unit) ? `${unit} (leaf)` : `${unit} (layer ${i}, ${LAYERS[i]!.side})`;
}

/**
 * Checks `files` (path relative to the repo, e.g. `src/rtc/peer.ts`, -> text) against the
 * rules. Returns one line per broken rule, sorted; empty when all is well.
 */
function checkImports(files: ReadonlyMap<string, string>, allowed: typeof ALLOWED = ALLOWED): string[] {
  const problems: string[] = [];
  const used = new Set<number>();
  for (const [file, text] of files) {
    const fromRel = path.posix.relative('src', file);
    const from = unitOf(fromRel);
    if (!LEAVES.includes(from) && layerIndex(from) < 0) {
      problems.push(`${file}: unit "${from}" is in no layer: add it to LAYERS (or LEAVES)`);
      continue;
    }
    for (const imp of importsOf(file, text)) {
      const where = `${file}:${imp.line}`;
      const spec = imp.specifier;
      if (spec === '<computed>') {
        problems.push(`${where} imports a computed specifier, which cannot be checked: use a string literal`);
        continue;
      }
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        const owners = PACKAGE_OWNERS[pkg];
        if (owners && !owners.includes(from)) problems.push(`${where} imports ${pkg}, which only ${owners.join(', ')}/ may import`);
        continue;
      }
      const target = resolve(file, spec, files);
      if (target === undefined) {
        problems.push(`${where} imports ${spec}, which is no file in src/`);
        continue;
      }
      const to = unitOf(path.posix.relative('src', target));
      const reason = ruleBroken(from, to, imp.typeOnly);
      if (reason === undefined) continue;
      const entry = allowed.findIndex(([f, t]) => f === file && t === target);
      if (entry >= 0) {
        used.add(entry);
        continue;
      }
      problems.push(`${where} imports ${target}${imp.typeOnly ? ' (type-only)' : ''}: ${reason}`);
    }
  }
  allowed.forEach(([f, t, why], i) => {
    if (!used.has(i)) problems.push(`allowlist entry [${f}, ${t}] ("${why}") matches no import that breaks a rule: delete it`);
  });
  return problems.sort();
}

/** Why importing unit `to` from unit `from` breaks a rule, or undefined when it may. */
function ruleBroken(from: string, to: string, typeOnly: boolean): string | undefined {
  if (from === to || LEAVES.includes(to)) return undefined;
  if (LEAVES.includes(from)) {
    if (from === LEAF_EXCEPTION.from && to === LEAF_EXCEPTION.to && (typeOnly || !LEAF_EXCEPTION.typeOnly)) return undefined;
    return `a leaf imports ${describeUnit(to)}; leaves import only leaves (config.ts: protocol/ types too)`;
  }
  if (to === 'cli') return 'nothing outside cli/ imports cli/';
  const a = layerIndex(from);
  const b = layerIndex(to);
  if (b < 0) return `unit "${to}" is in no layer`;
  if (b > a) return `${describeUnit(from)} imports the higher ${describeUnit(to)}`;
  if (b === a) return `${from} and ${to} are siblings in layer ${a}: they do not import each other`;
  const sides = [LAYERS[a]!.side, LAYERS[b]!.side];
  if (sides.includes('client') && sides.includes('server')) {
    return `${describeUnit(from)} imports ${describeUnit(to)}: client and server code meet only on the wire (protocol/)`;
  }
  return undefined;
}

/** The src file a relative specifier names (`./x.js` is `./x.ts`), or undefined. */
function resolve(importer: string, spec: string, files: ReadonlyMap<string, string>): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(importer), spec));
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => c.startsWith('src/') && files.has(c));
}

function readSrc(): Map<string, string> {
  const root = path.resolve(import.meta.dirname, '../..');
  const files = new Map<string, string>();
  for (const entry of readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts')) continue;
    const rel = `src/${entry.split(path.sep).join('/')}`;
    files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
  }
  return files;
}

describe('import boundaries of src/', () => {
  it('every import in src/ goes down the layers (or to a leaf), and every allowlist entry is still needed', () => {
    const files = readSrc();
    expect(files.size).toBeGreaterThan(50);
    const problems = checkImports(files);
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it('every top folder and root file of src/ is in the statement', () => {
    const units = new Set([...readSrc().keys()].map((f) => unitOf(path.posix.relative('src', f))));
    const stated = new Set([...LEAVES, ...LAYERS.flatMap((l) => l.units)]);
    expect([...units].filter((u) => !stated.has(u))).toEqual([]);
    expect([...stated].filter((u) => !units.has(u))).toEqual([]);
  });
});

describe('the boundary checker', () => {
  const check = (files: Record<string, string>, allowed: typeof ALLOWED = []) => checkImports(new Map(Object.entries(files)), allowed);

  it('finds static, re-exported, dynamic and type imports with their lines', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C, type D } from './c.js';",
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "const g = await import('./g.js');",
      "let h: import('./h.js').H;",
      "import './i.js';",
      "// import { no } from './comment.js';",
      "const s = \"import { no } from './string.js'\";",
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { specifier: './a.js', line: 1, typeOnly: false },
      { specifier: './b.js', line: 2, typeOnly: true },
      { specifier: './c.js', line: 3, typeOnly: false },
      { specifier: './e.js', line: 4, typeOnly: false },
      { specifier: './f.js', line: 5, typeOnly: true },
      { specifier: './g.js', line: 6, typeOnly: false },
      { specifier: './h.js', line: 7, typeOnly: true },
      { specifier: './i.js', line: 8, typeOnly: false },
    ]);
  });

  it('a lower layer importing a higher one is reported, type-only too; downwards and leaves pass', () => {
    expect(check({
      'src/media/rtp.ts': "import { CallpeerError } from '../errors.js';",
      'src/rtc/peer.ts': "import { parseRtpHeader } from '../media/rtp.js';",
      'src/errors.ts': '',
    })).toEqual([]);
    expect(check({
      'src/rtc/peer.ts': "import type { Room } from '../rooms/room.js';",
      'src/rooms/room.ts': '',
    })).toEqual(['src/rtc/peer.ts:1 imports src/rooms/room.ts (type-only): rtc (layer 1, shared) imports the higher rooms (layer 2, server)']);
  });

  it('siblings, client -> server, cli, owned packages and leaves importing up are reported', () => {
    expect(check({
      'src/signaling/session.ts': "import { SfuRoom } from '../sfu/sfu-room.js';",
      'src/sfu/sfu-room.ts': '',
      'src/bots/bot.ts': "import { Room } from '../rooms/room.js';",
      'src/rooms/room.ts': "import { PeerConnection } from 'node-datachannel';",
      'src/index.ts': "export { main } from './cli/main.js';",
      'src/cli/main.ts': '',
      'src/log.ts': "import { IceServer } from './protocol/signaling.js';",
      'src/config.ts': "import type { IceServer } from './protocol/signaling.js';",
      'src/protocol/signaling.ts': '',
    })).toEqual([
      'src/bots/bot.ts:1 imports src/rooms/room.ts: bots (layer 7, client) imports rooms (layer 2, server): client and server code meet only on the wire (protocol/)',
      'src/index.ts:1 imports src/cli/main.ts: nothing outside cli/ imports cli/',
      'src/log.ts:1 imports src/protocol/signaling.ts: a leaf imports protocol (layer 0, shared); leaves import only leaves (config.ts: protocol/ types too)',
      'src/rooms/room.ts:1 imports node-datachannel, which only rtc/ may import',
      'src/signaling/session.ts:1 imports src/sfu/sfu-room.ts: signaling and sfu are siblings in layer 3: they do not import each other',
    ]);
  });

  it('an allowlist entry silences its import, and fails once the import is gone', () => {
    const allowed = [['src/rtc/peer.ts', 'src/rooms/room.ts', 'test']] as const;
    expect(check({ 'src/rtc/peer.ts': "import { Room } from '../rooms/room.js';", 'src/rooms/room.ts': '' }, allowed)).toEqual([]);
    expect(check({ 'src/rtc/peer.ts': '', 'src/rooms/room.ts': '' }, allowed)).toEqual([
      'allowlist entry [src/rtc/peer.ts, src/rooms/room.ts] ("test") matches no import that breaks a rule: delete it',
    ]);
  });

  it('an unknown unit, an unresolved path and a computed import are reported, not skipped', () => {
    expect(check({
      'src/extra/x.ts': '',
      'src/rtc/a.ts': "import { x } from './missing.js';\nconst m = await import(name);",
    })).toEqual([
      'src/extra/x.ts: unit "extra" is in no layer: add it to LAYERS (or LEAVES)',
      'src/rtc/a.ts:1 imports ./missing.js, which is no file in src/',
      'src/rtc/a.ts:2 imports a computed specifier, which cannot be checked: use a string literal',
    ]);
  });
});
