/**
 * Prints a JWT the local server accepts, so anyone can try the API with curl:
 *   npm run token -- --sub user_1 [--org org_1] [--role owner] [--email a@b.c] [--expires 1h]
 * Signed with JWT_SECRET (or SUPABASE_JWT_SECRET) from the environment or .env, else the
 * development secret the local server uses when none is set.
 */
import { SignJWT } from 'jose';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEV_JWT_SECRET } from '../shared/config.ts';
import { loadDotEnv } from './dotenv.ts';

export interface TokenClaims {
  sub: string;
  org?: string | undefined;
  role?: string | undefined;
  email?: string | undefined;
  expiresIn?: string | number;
  issuer?: string | undefined;
  audience?: string | undefined;
}

export function signDevToken(claims: TokenClaims, secret = DEV_JWT_SECRET): Promise<string> {
  const jwt = new SignJWT({
    ...(claims.email ? { email: claims.email } : {}),
    ...(claims.org ? { org_id: claims.org } : {}),
    ...(claims.role ? { org_role: claims.role } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? '1h');
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      email: { type: 'string' },
      expires: { type: 'string', default: '1h' },
    },
  });
  if (!values.sub) {
    console.error('usage: npm run token -- --sub user_1 [--org org_1] [--role owner] [--email a@b.c] [--expires 1h]');
    process.exit(2);
  }
  const env = { ...loadDotEnv(), ...process.env };
  const secret = env.JWT_SECRET || env.SUPABASE_JWT_SECRET || DEV_JWT_SECRET;
  console.log(
    await signDevToken(
      { sub: values.sub, org: values.org, role: values.role, email: values.email, expiresIn: values.expires, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
      secret,
    ),
  );
}
