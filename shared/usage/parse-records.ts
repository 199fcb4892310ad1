/**
 * The POST usage body: one record, or `{ records: [...] }` of up to 1,000. A batch is
 * valid as a whole or not at all: every problem is collected, with its record's index
 * and field, so the caller can fix them all at once; nothing is written until none remain.
 */
import { isAccountId } from '../account-id.ts';
import { badRequest } from '../errors.ts';
import type { UsageRecordInput } from '../store/types.ts';
import { MAX_AGE_SECONDS, MAX_AHEAD_SECONDS } from './meter-events.ts';
import * as z from '../zod.ts';

export const MAX_RECORDS_PER_BATCH = 1000;
/** 1,000 records of long ids and keys fit; the 64 KiB default of other endpoints does not. */
export const MAX_USAGE_BODY = 1024 * 1024;
/** Keeps any batch's sum far inside 2^53 (JSON numbers) and Stripe's whole-number values. */
export const MAX_QUANTITY = 1_000_000_000;

export interface UsageProblem {
  /** The record's index in `records`; absent for a single-record body or the body itself. */
  index?: number;
  field: string;
  message: string;
}

const printable = /^[\x21-\x7e][\x20-\x7e]*$/;

/** "is required" for a missing field; zod's wording otherwise. */
const need = (kind: string) => ({ error: (i: { input?: unknown }) => (i.input === undefined ? 'is required' : `must be ${kind}`) });

const Record = z.strictObject({
  // As shared/account-id.ts mints them: 'user:<sub>' or 'org:<org id>'.
  accountId: z
    .string(need('a string'))
    .check(z.refine(isAccountId, 'must be user:<id> or org:<id> (an id of at most 255 characters, no control characters)')),
  quantity: z.number(need('a number')).check(z.int('must be a whole number'), z.positive('must be positive'), z.maximum(MAX_QUANTITY)),
  idempotencyKey: z
    .string(need('a string'))
    .check(z.minLength(1, 'must not be empty'), z.maxLength(255), z.regex(printable, 'must be printable ASCII')),
  /** Unix seconds, or an ISO 8601 date-time with a zone. */
  timestamp: z.optional(z.union([z.number().check(z.int('must be whole unix seconds'), z.positive()), z.iso.datetime({ offset: true })])),
  /** A feature key of the catalogue; default its metered feature. */
  feature: z.optional(z.string(need('a string'))),
});

const Batch = z.strictObject({
  records: z
    .array(z.unknown())
    .check(z.minLength(1, 'must hold at least one record'), z.maxLength(MAX_RECORDS_PER_BATCH, `must hold at most ${MAX_RECORDS_PER_BATCH} records`)),
});

function fieldOf(path: PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(record)';
}

function problemsOf(error: z.core.$ZodError, index: number | undefined): UsageProblem[] {
  return error.issues.map((i) => ({
    ...(index === undefined ? {} : { index }),
    field: i.code === 'unrecognized_keys' ? i.keys.join(', ') : fieldOf(i.path),
    message: i.code === 'unrecognized_keys' ? 'unknown field' : i.message,
  }));
}

/** The catalogue's features as records name them: the metered one (stored as null) and the limited ones. */
export interface RecordFeatures {
  metered: string;
  known: string[];
}

function parseRecord(value: unknown, index: number | undefined, nowMs: number, features: RecordFeatures, problems: UsageProblem[]): UsageRecordInput | null {
  const parsed = Record.safeParse(value);
  if (!parsed.success) {
    problems.push(...problemsOf(parsed.error, index));
    return null;
  }
  const r = parsed.data;
  const atMs = r.timestamp === undefined ? nowMs : typeof r.timestamp === 'number' ? r.timestamp * 1000 : Date.parse(r.timestamp);
  const problem = (field: string, message: string) => problems.push({ ...(index === undefined ? {} : { index }), field, message });
  if (r.feature !== undefined && !features.known.includes(r.feature)) {
    problem('feature', `is not a limited feature of the catalogue (one of ${features.known.join(', ')}; none means ${features.metered})`);
    return null;
  }
  if (atMs < nowMs - MAX_AGE_SECONDS * 1000) {
    problem('timestamp', 'is more than 35 days old (Stripe does not accept older usage)');
    return null;
  }
  if (atMs > nowMs + MAX_AHEAD_SECONDS * 1000) {
    problem('timestamp', 'is more than 5 minutes in the future');
    return null;
  }
  const feature = r.feature === undefined || r.feature === features.metered ? null : r.feature;
  return { account_id: r.accountId, key: r.idempotencyKey, quantity: r.quantity, occurred_at: new Date(atMs).toISOString(), feature };
}

/** The records of a parsed JSON body, or a 400 whose details name every bad index and field. */
export function parseUsageBody(body: unknown, features: RecordFeatures, nowMs = Date.now()): { records: UsageRecordInput[]; batch: boolean } {
  const problems: UsageProblem[] = [];
  const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'records' in body;
  const records: UsageRecordInput[] = [];
  if (isBatch) {
    const batch = Batch.safeParse(body);
    if (!batch.success) {
      problems.push(...problemsOf(batch.error, undefined));
    } else {
      batch.data.records.forEach((value, index) => {
        const r = parseRecord(value, index, nowMs, features, problems);
        if (r) records.push(r);
      });
    }
  } else {
    const r = parseRecord(body, undefined, nowMs, features, problems);
    if (r) records.push(r);
  }
  if (problems.length) {
    const shown = problems.slice(0, 5).map((p) => `${p.index === undefined ? '' : `records[${p.index}].`}${p.field}: ${p.message}`);
    const more = problems.length > shown.length ? ` (and ${problems.length - shown.length} more)` : '';
    throw badRequest(`Invalid usage: ${shown.join('; ')}${more}; nothing was recorded`, problems);
  }
  return { records, batch: isBatch };
}
