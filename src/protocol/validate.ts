import { CallpeerError } from '../errors.js';

/** Small field checkers shared by the message validators. Each throws INVALID_MESSAGE. */
export type Obj = Record<string, unknown>;

export function fail(message: string, ref?: string): never {
  throw new CallpeerError('INVALID_MESSAGE', message, ref === undefined ? {} : { ref });
}

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function reqString(o: Obj, key: string, ref: string, opts: { min?: number; max?: number } = {}): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${ref}.${key} must be a string`, ref);
  checkLength(v, key, ref, opts);
  return v;
}

export function optString(o: Obj, key: string, ref: string, opts: { min?: number; max?: number } = {}): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(`${ref}.${key} must be a string`, ref);
  checkLength(v, key, ref, opts);
  return v;
}

function checkLength(v: string, key: string, ref: string, opts: { min?: number; max?: number }): void {
  if (opts.min !== undefined && v.length < opts.min) fail(`${ref}.${key} must have at least ${opts.min} characters`, ref);
  if (opts.max !== undefined && v.length > opts.max) fail(`${ref}.${key} must have at most ${opts.max} characters`, ref);
}

export function optBoolean(o: Obj, key: string, ref: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(`${ref}.${key} must be a boolean`, ref);
  return v;
}

export function reqBoolean(o: Obj, key: string, ref: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(`${ref}.${key} must be a boolean`, ref);
  return v;
}

export function reqNumber(o: Obj, key: string, ref: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${ref}.${key} must be a finite number`, ref);
  return v;
}

/** A finite number within [min, max]. */
export function reqNumberIn(o: Obj, key: string, ref: string, min: number, max: number): number {
  const v = reqNumber(o, key, ref);
  if (v < min || v > max) fail(`${ref}.${key} must be between ${min} and ${max}`, ref);
  return v;
}

export function optNumberIn(o: Obj, key: string, ref: string, min: number, max: number): number | undefined {
  return o[key] === undefined ? undefined : reqNumberIn(o, key, ref, min, max);
}

export function reqOneOf<T extends string>(o: Obj, key: string, ref: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(`${ref}.${key} must be one of ${values.join(', ')}`, ref);
  return v as T;
}

export function optOneOf<T extends string>(o: Obj, key: string, ref: string, values: readonly T[]): T | undefined {
  return o[key] === undefined ? undefined : reqOneOf(o, key, ref, values);
}

export function reqObject(o: Obj, key: string, ref: string): Obj {
  const v = o[key];
  if (!isObject(v)) fail(`${ref}.${key} must be an object`, ref);
  return v;
}

/**
 * Whether a parsed JSON value nests at most `maxDepth` levels of objects and arrays (a flat
 * object is depth 1). Iterative, so a frame nested thousands deep cannot overflow the stack:
 * JSON.parse accepts such frames, JSON.stringify and recursive walkers do not.
 */
export function nestsAtMost(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > maxDepth) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

/**
 * Parses one JSON text frame into an object with a string `type` (or, for dialects that name
 * it otherwise, such as Twilio's `event`, the field given).
 */
export function parseJsonObject<K extends string = 'type'>(text: string, key: K = 'type' as K): Obj & Record<K, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail('frame is not valid JSON');
  }
  if (!isObject(value)) fail('frame must be a JSON object');
  if (typeof value[key] !== 'string') fail(`frame must have a string "${key}"`);
  return value as Obj & Record<K, string>;
}
