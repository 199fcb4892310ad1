/**
 * The two response dialects, chosen by path:
 * - `/api/billing/*`: the envelope `{ success, data, error }` (billing-api-overview seed);
 * - `/api/stripe/*`: flat bodies `{ url }`, `{ error }` (billing-stripe-endpoints seed).
 * Status codes are the same in both. Handlers return data; only this file shapes bodies.
 */
import { createHash } from 'node:crypto';
import type { ErrorCode } from './errors.ts';

export type Dialect = 'envelope' | 'flat';

export function dialectOf(pathname: string): Dialect {
  return pathname.startsWith('/api/billing/') || pathname === '/api/billing' ? 'envelope' : 'flat';
}

/** An endpoint's path in a dialect, for answers that send the caller to another endpoint. */
export const apiPath = (dialect: Dialect, name: string) => `${dialect === 'envelope' ? '/api/billing' : '/api/stripe'}/${name}`;

export function successBody(dialect: Dialect, data: unknown): unknown {
  return dialect === 'envelope' ? { success: true, data, error: null } : data;
}

export function errorBody(
  dialect: Dialect,
  code: ErrorCode,
  message: string,
  requestId: string,
  details?: unknown,
): unknown {
  const extra = details === undefined ? {} : { details };
  return dialect === 'envelope'
    ? { success: false, data: null, error: { code, message, requestId, ...extra } }
    : { error: message, code, requestId, ...extra };
}

/** `headers`: lower-case names; answers are not cached unless they say otherwise (GET plans). */
export function json(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(status === 204 || status === 304 ? null : JSON.stringify(body), {
    status,
    headers: { 'cache-control': 'no-store', ...headers, 'content-type': 'application/json; charset=utf-8' },
  });
}

/** A strong ETag of an answer's body. */
export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/** Whether If-None-Match names `etag` (a list, weak forms, or *). */
export function notModified(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
