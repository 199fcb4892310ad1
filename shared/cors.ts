/**
 * CORS as the seed documents it (`*`, `POST, GET, OPTIONS`, `Content-Type, Authorization`),
 * narrowed to an allowlist of origins when ALLOWED_ORIGINS is set: then only a listed
 * origin is echoed back, and other origins get no Allow-Origin header (the browser blocks).
 */
export function corsHeaders(origin: string | null, allowed: string[] | undefined): Record<string, string> {
  // A plain record (header names lower-case): the response's one Headers object is built
  // from it at the end (a Headers object is costly to build, and this runs on every request).
  const h: Record<string, string> = {
    'access-control-allow-methods': 'POST, GET, OPTIONS',
    'access-control-allow-headers': 'Content-Type, Authorization',
    'access-control-expose-headers':
      'X-Request-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset',
    'access-control-max-age': '600',
  };
  if (!allowed || allowed.length === 0 || allowed.includes('*')) {
    h['access-control-allow-origin'] = '*';
  } else {
    h['vary'] = 'Origin';
    if (origin && allowed.includes(origin)) h['access-control-allow-origin'] = origin;
  }
  return h;
}
