/**
 * Where to go after signing in (`?next=`): only a path on this site. Browsers read `/\evil`
 * as `//evil` and drop tabs and newlines from URLs, so a prefix test is not enough: the value
 * is refused when it holds a backslash or a control character, and otherwise resolved
 * against our origin and kept only if it stays there. No DOM needed (tested in node).
 */
export function sameOriginPath(next, origin) {
  if (typeof next !== 'string' || !next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return null;
  let url;
  try {
    url = new URL(next, origin);
  } catch {
    return null;
  }
  return url.origin === new URL(origin).origin ? url.pathname + url.search + url.hash : null;
}
