/**
 * `data.previous_attributes` of `*.updated` events: the changed attributes with
 * their old values. Nested hashes keep only their changed keys; an array with any
 * change is given whole (Stripe's rule since API version 2017-04-06).
 */
type Json = Record<string, unknown>;

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function diffRecords(before: Json, after: Json): Json | undefined {
  const out: Json = {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    const was = before[key];
    const now = after[key];
    if (same(was, now)) continue;
    if (isRecord(was) && isRecord(now)) {
      const inner = diffRecords(was, now);
      if (inner) out[key] = inner;
    } else {
      out[key] = was === undefined ? null : was;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Old values of what changed between two snapshots of the same object; undefined when nothing did. */
export function previousAttributes<T extends object>(before: T, after: T): Partial<T> | undefined {
  const result = diffRecords(Object.fromEntries(Object.entries(before)), Object.fromEntries(Object.entries(after)));
  return result as Partial<T> | undefined;
}
