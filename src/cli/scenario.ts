/**
 * `loadtest --scenario FILE`: a run written down once and repeated, in YAML or JSON. Its keys
 * are the command's long flags (`max-loss` or `maxLoss`), plus `url` for the server; values are
 * what the flag takes (numbers, strings, `true` for switches, a list for repeatable flags). A
 * flag on the command line overrides the file. Unknown keys and wrong types are refused with
 * the file's name, so a typo never runs a different test than the one written.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CallpeerError } from '../errors.js';

export type ScenarioValue = string | boolean | string[];

/** What a flag takes: a value, a switch, or a repeatable value. */
export type FlagKind = 'value' | 'switch' | 'list';

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Reads `file` into option values by camelCase name (`url` included). `flags`: the options it
 * may set and what each takes. Throws INVALID_CONFIG naming the file and the key.
 */
export function readScenario(file: string, flags: Record<string, FlagKind>): Record<string, ScenarioValue> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CallpeerError('INVALID_CONFIG', `cannot read scenario ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the path' });
  }
  let doc: unknown;
  try {
    doc = parse(text); // YAML is a superset of JSON: one parser for both
  } catch (err) {
    throw new CallpeerError('INVALID_CONFIG', `scenario ${file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`, { hint: 'e.g. "rooms: 4" on its own line' });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CallpeerError('INVALID_CONFIG', `scenario ${file} must be a mapping of flags to values`, { hint: 'e.g. url: http://localhost:8080, rooms: 4, peers: 5' });
  }
  const out: Record<string, ScenarioValue> = {};
  for (const [rawKey, value] of Object.entries(doc)) {
    const key = camel(rawKey);
    const kind: FlagKind | undefined = key === 'url' ? 'value' : flags[key];
    if (kind === undefined || key === 'scenario') {
      const known = ['url', ...Object.keys(flags).filter((k) => k !== 'scenario').map(kebab)].join(', ');
      throw new CallpeerError('INVALID_CONFIG', `scenario ${file}: unknown key "${rawKey}"`, { hint: `keys are the flags' long names: ${known}` });
    }
    const bad = (what: string) => new CallpeerError('INVALID_CONFIG', `scenario ${file}: "${rawKey}" must be ${what} (got ${JSON.stringify(value)})`, { hint: `see callpeer loadtest --help for --${kebab(key)}` });
    if (kind === 'switch') {
      if (typeof value !== 'boolean') throw bad('true or false');
      out[key] = value;
    } else if (kind === 'list') {
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((v) => typeof v === 'string' || typeof v === 'number')) throw bad('a value or a list of values');
      out[key] = list.map(String);
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') throw bad('a number or a string');
      out[key] = String(value);
    }
  }
  return out;
}
