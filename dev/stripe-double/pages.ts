/** Placeholder pages at the URLs the double hands out (real pages come later). */
function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function placeholderPage(path: string): { status: number; html: string } | undefined {
  const kinds: Array<[RegExp, string]> = [
    [/^\/c\/pay\/([^/]+)$/, 'Checkout'],
    [/^\/p\/session\/([^/]+)$/, 'Customer portal'],
    [/^\/i\/([^/]+)(\/pdf)?$/, 'Invoice'],
  ];
  for (const [pattern, title] of kinds) {
    const m = pattern.exec(path);
    if (!m) continue;
    const id = escape(decodeURIComponent(m[1] ?? ''));
    return {
      status: 200,
      html: `<!doctype html><html><head><meta charset="utf-8"><title>${title} (Stripe double)</title></head><body><h1>${title}</h1><p>Stripe double placeholder for <code>${id}</code>.</p></body></html>`,
    };
  }
  return undefined;
}
