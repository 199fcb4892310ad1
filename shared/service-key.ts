/**
 * The server-to-server key (BILLING_SERVICE_KEY) of POST usage. Its own module, so that
 * functions without user routes do not load the JWT code (jose) to check it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { unauthorized } from './errors.ts';

/** Compared in constant time (hashing first makes lengths equal). */
export function checkServiceKey(req: Request, expected: string): void {
  const header = req.headers.get('authorization') ?? '';
  const given = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? req.headers.get('x-service-key') ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  if (!given || !timingSafeEqual(a, b)) throw unauthorized('Invalid service key');
}
