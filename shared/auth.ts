/**
 * Bearer JWT authentication with jose. HS256 with a shared secret (Supabase's legacy JWT
 * secret) or asymmetric keys from a JWKS URL; algorithms are pinned, `exp` and the user id
 * (`sub`, or the claim JWT_USER_ID_CLAIM names) are required, issuer and audience are checked
 * when configured. Every failure is the same
 * 401 with `WWW-Authenticate: Bearer`, so callers learn nothing about why.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { orgAccountId, usableId, userAccountId, type AccountKind } from './account-id.ts';
import type { Config } from './config.ts';
import { ApiError, unauthorized } from './errors.ts';

export interface Principal {
  userId: string;
  email: string | undefined;
  orgId: string | undefined;
  role: string | undefined;
  /** The billing account: the organization when there is one, otherwise the user. */
  accountId: string;
  accountKind: AccountKind;
}

type Verify = (token: string, options: JWTVerifyOptions) => Promise<JWTPayload>;

interface Verifier {
  id: string;
  algorithms: string[];
  verify: Verify;
  /** Tokens that passed every check, by their exact text: payload and until when it may be reused. */
  verified: Map<string, { payload: JWTPayload; until: number }>;
}

/**
 * A page sends the same token with every call for as long as it lives, and checking an
 * HS256 signature with WebCrypto costs more CPU than the rest of GET subscription's own
 * work (`npm run bench`, throughput). So a token that passed every check is kept with its
 * payload, by its exact text, for at most a minute and never past its `exp`; a new secret,
 * JWKS URL, issuer or audience starts an empty cache. Nothing unverified is ever kept.
 * (PostgREST's jwt-cache-max-lifetime and Envoy's jwt_authn cache verified tokens the same way.)
 */
const VERIFIED_MAX = 1000;
const VERIFIED_TTL_MS = 60_000;

// Kept across invocations of a warm function: the JWKS is fetched once (jose caches keys
// and refetches on an unknown `kid`, at most once per cooldown), and the HS256 key is
// imported once instead of on every request.
let verifier: Verifier | undefined;

function verifierFor(cfg: Config): Verifier {
  const id = JSON.stringify([cfg.JWT_JWKS_URL ?? `secret:${cfg.jwtSecret}`, cfg.JWT_ISSUER, cfg.JWT_AUDIENCE]);
  if (verifier?.id === id) return verifier;
  const verified = new Map<string, { payload: JWTPayload; until: number }>();
  if (cfg.JWT_JWKS_URL) {
    const jwks = createRemoteJWKSet(new URL(cfg.JWT_JWKS_URL));
    verifier = { id, verified, algorithms: ['RS256', 'ES256', 'EdDSA'], verify: async (t, o) => (await jwtVerify(t, jwks, o)).payload };
  } else {
    const key = crypto.subtle.importKey('raw', new TextEncoder().encode(cfg.jwtSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    verifier = { id, verified, algorithms: ['HS256'], verify: async (t, o) => (await jwtVerify(t, await key, o)).payload };
  }
  return verifier;
}

/** The payload of a valid token: from the cache while it may be reused, else verified by jose. */
async function verifiedPayload(v: Verifier, token: string, cfg: Config): Promise<JWTPayload> {
  const now = Date.now();
  const hit = v.verified.get(token);
  if (hit && now < hit.until) return hit.payload;
  v.verified.delete(token);
  const payload = await v.verify(token, {
    algorithms: v.algorithms,
    requiredClaims: ['exp', cfg.JWT_USER_ID_CLAIM],
    ...(cfg.JWT_ISSUER ? { issuer: cfg.JWT_ISSUER } : {}),
    ...(cfg.JWT_AUDIENCE ? { audience: cfg.JWT_AUDIENCE } : {}),
  });
  // jose accepts a token while now (whole seconds) < exp: reuse it no longer than that.
  const until = Math.min(now + VERIFIED_TTL_MS, (payload.exp ?? 0) * 1000);
  if (v.verified.size >= VERIFIED_MAX) v.verified.delete(v.verified.keys().next().value!);
  v.verified.set(token, { payload, until });
  return payload;
}

/**
 * The email goes to Stripe (the customer's email, checkout metadata), which checks its shape
 * and refuses a bad one (a failed checkout), and stripe-node cannot encode lone surrogates.
 * So only a plain address is kept: ASCII, at most 254 characters (RFC 5321) and 64 before
 * the @, dot-separated atoms (no leading, trailing or double dots), a domain of at least two
 * DNS labels. Anything else (internationalised addresses too) is dropped, not refused: the
 * user can still pay, Checkout asks for the email itself.
 */
const ATOMS = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const EMAIL = new RegExp(`^(?=[^@]{1,64}@)${ATOMS}@(?:${LABEL}\\.)+${LABEL}$`);
const usableEmail = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= 254 && EMAIL.test(v) ? v : undefined);

function claim(payload: JWTPayload, name: string): string | undefined {
  // Supabase keeps custom claims the user cannot edit in app_metadata.
  const meta = payload['app_metadata'];
  const value = payload[name] ?? (meta && typeof meta === 'object' ? (meta as Record<string, unknown>)[name] : undefined);
  if (value === undefined || value === null || value === '') return undefined;
  if (!usableId(value)) throw unauthorized('Invalid authentication token');
  return value;
}

export async function authenticate(req: Request, cfg: Config): Promise<Principal> {
  const header = req.headers.get('authorization') ?? '';
  const match = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)\s*$/i.exec(header);
  if (!header) throw unauthorized();
  if (!match) throw unauthorized('Invalid authentication token');
  let payload: JWTPayload;
  try {
    payload = await verifiedPayload(verifierFor(cfg), match[1]!, cfg);
  } catch {
    throw unauthorized('Invalid authentication token');
  }
  // Top-level only: a user id the user can edit (Supabase's user_metadata) must never name the account.
  const rawId = payload[cfg.JWT_USER_ID_CLAIM];
  // Some auth libraries issue numeric ids ({ id: 42 }); they name the same user as "42".
  const userId = typeof rawId === 'number' && Number.isSafeInteger(rawId) ? String(rawId) : rawId;
  if (!usableId(userId)) throw unauthorized('Invalid authentication token');
  const orgId = claim(payload, cfg.JWT_ORG_CLAIM);
  return {
    userId,
    email: usableEmail(payload['email']),
    orgId,
    role: claim(payload, cfg.JWT_ROLE_CLAIM),
    accountId: orgId ? orgAccountId(orgId) : userAccountId(userId),
    accountKind: orgId ? 'organization' : 'user',
  };
}

/** Organization billing (checkout, portal) is for billing managers only. */
export function requireBillingManager(p: Principal, cfg: Config): void {
  if (p.accountKind === 'organization' && !(p.role && cfg.BILLING_MANAGER_ROLES.includes(p.role))) {
    throw new ApiError('FORBIDDEN', 'Only organization billing managers can manage billing');
  }
}
