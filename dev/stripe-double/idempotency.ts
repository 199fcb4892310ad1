/**
 * `Idempotency-Key` on POST: the first request's status and body are saved and
 * replayed (`Idempotent-Replayed: true`) for a repeat with the same parameters; other
 * parameters or another endpoint get an `idempotency_error`. A repeat that arrives
 * while the first is still running waits for it and gets its result, so two
 * concurrent identical requests make one object. Results of requests that failed
 * validation are not saved (Stripe saves only once an endpoint starts executing).
 */
import { errors } from './errors.ts';
import type { FormObject, FormValue } from './form.ts';

export interface SavedResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** The request that produced it (sent back as `Original-Request`). */
  requestId: string;
}

interface Entry {
  endpoint: string;
  fingerprint: string;
  result: Promise<SavedResponse | null>;
  savedAt: number;
}

const TTL_MS = 24 * 3600 * 1000;

function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k] ?? '')}`).join(',')}}`;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /**
   * Runs `execute` once per (scope, key). `execute` reports whether its response may
   * be saved. Resolves with the response and whether it is a replay.
   */
  async run(
    scope: string,
    key: string,
    endpoint: string,
    params: FormObject,
    execute: () => Promise<{ response: SavedResponse; save: boolean }>,
  ): Promise<{ response: SavedResponse; replayed: boolean }> {
    const id = `${scope}\u0000${key}`;
    const print = canonical(params);
    for (;;) {
      const existing = this.entries.get(id);
      if (existing && Date.now() - existing.savedAt > TTL_MS) this.entries.delete(id);
      const entry = this.entries.get(id);
      if (!entry) break;
      if (entry.endpoint !== endpoint) throw errors.idempotencyOtherEndpoint(key, entry.endpoint, endpoint);
      if (entry.fingerprint !== print) throw errors.idempotencyMismatch(key);
      const saved = await entry.result;
      if (saved) return { response: saved, replayed: true };
      // The first attempt was not saved (it failed validation): this one runs on its own.
    }

    let settle: (value: SavedResponse | null) => void = () => undefined;
    const result = new Promise<SavedResponse | null>((resolve) => {
      settle = resolve;
    });
    const entry: Entry = { endpoint, fingerprint: print, result, savedAt: Date.now() };
    this.entries.set(id, entry);
    try {
      const { response, save } = await execute();
      if (!save) this.entries.delete(id);
      settle(save ? response : null);
      return { response, replayed: false };
    } catch (err) {
      this.entries.delete(id);
      settle(null);
      throw err;
    }
  }
}
