/**
 * Stripe's wire format: `application/x-www-form-urlencoded` with bracketed keys
 * (`a[b][c]=`, `a[0][x]=`, `a[]=`), for bodies and query strings alike.
 * Parsing keeps every level an object (array indices become keys "0", "1"...);
 * the parameter schemas (params.ts) turn integer-keyed objects into arrays where
 * an array is expected, so a metadata key like "0" is never mistaken for one.
 */
export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const KEY = /^([^[\]]+)((?:\[[^\]]*\])*)$/;

function splitKey(key: string): string[] {
  const m = KEY.exec(key);
  if (!m || m[1] === undefined) return [key];
  const segments = [m[1]];
  const rest = m[2] ?? '';
  for (const part of rest.matchAll(/\[([^\]]*)\]/g)) segments.push(part[1] ?? '');
  return segments;
}

export function parseForm(text: string): FormObject {
  const root: FormObject = {};
  if (!text) return root;
  for (const [key, value] of new URLSearchParams(text)) {
    const segments = splitKey(key);
    let node: FormObject = root;
    for (let i = 0; i < segments.length; i++) {
      let seg = segments[i] ?? '';
      // `a[]` appends: the next free integer key of this container.
      if (seg === '') seg = String(Object.keys(node).length);
      if (i === segments.length - 1) {
        node[seg] = value;
      } else {
        const next = node[seg];
        if (typeof next === 'object') {
          node = next;
        } else {
          const created: FormObject = {};
          node[seg] = created;
          node = created;
        }
      }
    }
  }
  return root;
}

/** Integer-keyed object -> array in index order (like qs); undefined when not integer-keyed. */
export function asIndexedArray(value: FormObject): FormValue[] | undefined {
  const keys = Object.keys(value);
  if (!keys.every((k) => /^(0|[1-9]\d*)$/.test(k))) return undefined;
  return keys
    .map(Number)
    .sort((a, b) => a - b)
    .map((k) => value[String(k)] as FormValue);
}
