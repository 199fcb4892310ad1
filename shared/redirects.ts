/**
 * Return URLs a caller may choose (checkout success/cancel, portal return): relative
 * paths, or absolute URLs on the site's own origin (URL). Everything else is refused, so
 * the billing pages cannot be turned into an open redirect.
 */
import { badRequest } from './errors.ts';

export function safeRedirect(value: string | undefined, siteUrl: string, fallbackPath: string, field: string): string {
  const site = new URL(siteUrl);
  if (value === undefined) return new URL(fallbackPath, site).toString();
  const refused = () => badRequest(`${field} must be a path on this site or a URL on ${site.origin}`);
  // Backslashes and control characters are normalised by browsers into surprising hosts.
  if (/[\\\u0000-\u001f\u007f]/.test(value) || value.trim() !== value || value === '') throw refused();
  // A relative path must start with exactly one slash: "//evil.example" is another host.
  const relative = value.startsWith('/') && !value.startsWith('//');
  let parsed: URL;
  try {
    parsed = relative ? new URL(value, site) : new URL(value);
  } catch {
    throw refused();
  }
  if (parsed.origin !== site.origin || !/^https?:$/.test(parsed.protocol)) throw refused();
  // `http://evil@site/` reads as evil's to a person; and dot segments resolved by the parser
  // (`/a/..//evil.example`) can leave a path that a later relative redirect reads as a host.
  if (parsed.username || parsed.password || parsed.pathname.startsWith('//')) throw refused();
  // Returned as parsed: dot segments resolved, percent-encoding normalised.
  return parsed.toString();
}
