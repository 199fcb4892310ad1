/**
 * Parameter schemas: Stripe's validation of form parameters (unknown, missing,
 * wrongly typed), and coercion of the wire strings into numbers, booleans and arrays.
 */
import { errors } from './errors.ts';
import { asIndexedArray, type FormObject, type FormValue } from './form.ts';

export type Spec =
  /** `nullable`: an empty string unsets the field (parsed as null). */
  | { t: 'string'; enum?: readonly string[]; nullable?: boolean }
  /** `literals`: strings accepted in place of an integer (e.g. trial_end=now). */
  | { t: 'integer'; min?: number; max?: number; nullable?: boolean; literals?: readonly string[] }
  | { t: 'decimal' }
  | { t: 'boolean' }
  /** String-to-string map (metadata, payload). An empty value deletes that key on update. */
  | { t: 'map' }
  | { t: 'object'; fields: Fields; required?: readonly string[]; nullable?: boolean }
  | { t: 'array'; of: Spec; nullable?: boolean }
  /** `created=123` or `created[gte]=...`. */
  | { t: 'range' }
  /** A parameter Stripe accepts that the double stores nowhere: checked for nothing. */
  | { t: 'any' }
  /** A parameter Stripe accepts that the double does not model: rejected, rather than silently ignored. */
  | { t: 'unsupported' };

export type Fields = Record<string, Spec>;

export type Parsed = string | number | boolean | null | Parsed[] | { [key: string]: Parsed };

export const str: Spec = { t: 'string' };
export const nullableStr: Spec = { t: 'string', nullable: true };
export const int: Spec = { t: 'integer' };
export const bool: Spec = { t: 'boolean' };
export const map: Spec = { t: 'map' };
export const any: Spec = { t: 'any' };
export const unsupported: Spec = { t: 'unsupported' };
export const range: Spec = { t: 'range' };
export const strArray: Spec = { t: 'array', of: str };

export const PAGINATION: Fields = {
  limit: { t: 'integer', min: 1, max: 100 },
  starting_after: str,
  ending_before: str,
};

/** Names a nested parameter the way Stripe does: `line_items[0][price]`. */
function child(path: string, key: string | number): string {
  return path ? `${path}[${key}]` : String(key);
}

function parseValue(spec: Spec, value: FormValue, path: string): Parsed {
  switch (spec.t) {
    case 'any':
      return value as Parsed;
    case 'unsupported':
      throw errors.invalidParam(path, `The Stripe double does not support '${path}' (Stripe does); extend dev/stripe-double if you need it.`);
    case 'string': {
      if (typeof value !== 'string') throw errors.invalidParam(path, `Invalid string: ${path} must be a string`);
      if (value === '') {
        if (spec.nullable) return null;
        throw errors.emptyString(path);
      }
      if (spec.enum && !spec.enum.includes(value)) {
        throw errors.invalidParam(path, `Invalid ${path}: must be one of ${spec.enum.join(', ')}`);
      }
      return value;
    }
    case 'integer': {
      if (typeof value !== 'string') throw errors.invalidParam(path, `Invalid integer: ${path} must be an integer`, 'parameter_invalid_integer');
      if (value === '') {
        if (spec.nullable) return null;
        throw errors.emptyString(path);
      }
      if (spec.literals?.includes(value)) return value;
      if (!/^-?\d+$/.test(value)) throw errors.invalidInteger(path, value);
      const n = Number(value);
      if (spec.min !== undefined && n < spec.min) {
        throw errors.invalidParam(path, `This value must be greater than or equal to ${spec.min}.`, 'parameter_invalid_integer');
      }
      if (spec.max !== undefined && n > spec.max) {
        throw errors.invalidParam(path, `This value must be less than or equal to ${spec.max}.`, 'parameter_invalid_integer');
      }
      return n;
    }
    case 'decimal': {
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) {
        throw errors.invalidParam(path, `Invalid decimal: ${typeof value === 'string' ? value : path}`);
      }
      return value;
    }
    case 'boolean': {
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw errors.invalidParam(path, `Invalid boolean: ${typeof value === 'string' ? value : path}`);
    }
    case 'map': {
      if (value === '') return null;
      if (typeof value !== 'object') throw errors.invalidParam(path, 'Invalid hash');
      const out: { [key: string]: Parsed } = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw errors.invalidParam(child(path, k), 'Invalid string: metadata values must be strings');
        out[k] = v;
      }
      return out;
    }
    case 'range': {
      if (typeof value === 'string') return parseValue(int, value, path);
      return parseObject({ gt: int, gte: int, lt: int, lte: int }, value, path, []);
    }
    case 'array': {
      if (value === '') {
        if (spec.nullable) return null;
        return [];
      }
      if (typeof value !== 'object') throw errors.invalidParam(path, 'Invalid array');
      const items = asIndexedArray(value);
      if (!items) throw errors.invalidParam(path, 'Invalid array');
      return items.map((item, i) => parseValue(spec.of, item, child(path, i)));
    }
    case 'object': {
      if (value === '' && spec.nullable) return null;
      if (typeof value !== 'object') throw errors.invalidParam(path, 'Invalid hash');
      return parseObject(spec.fields, value, path, spec.required ?? []);
    }
  }
}

function parseObject(fields: Fields, input: FormObject, path: string, required: readonly string[]): { [key: string]: Parsed } {
  const out: { [key: string]: Parsed } = {};
  for (const [key, value] of Object.entries(input)) {
    const spec = fields[key];
    if (!spec) throw errors.unknownParam(child(path, key));
    out[key] = parseValue(spec, value, child(path, key));
  }
  for (const key of required) {
    if (!(key in out)) throw errors.missingParam(child(path, key));
  }
  return out;
}

/**
 * Validates `input` against `fields` (plus `expand`, which every endpoint takes) and
 * returns it coerced. The result is typed by the caller, usually as the matching
 * stripe-node params type; the schema is what makes that claim true.
 */
export function parseParams<T>(fields: Fields, input: FormObject, required: readonly string[] = []): T {
  const parsed: unknown = parseObject({ expand: strArray, ...fields }, input, '', required);
  return parsed as T;
}

/** Applies a parsed metadata update like Stripe: empty values delete keys, `metadata=''` clears all. */
export function mergeMetadata(current: Record<string, string>, update: Record<string, string> | null | undefined): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(update)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  return next;
}
