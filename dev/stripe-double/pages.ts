/**
 * The pages at the URLs the double hands out, as Stripe hosts them: Checkout (/c/pay/:id),
 * the customer portal (/p/session/:id), and a plain invoice page (/i/:id).
 */
import { checkoutPage } from './pages/checkout.ts';
import { escapeHtml, hostedPage } from './pages/layout.ts';
import { portalPage } from './pages/portal.ts';

function invoicePage(id: string, apiKey: string): string {
  return hostedPage('Invoice', `<div class="card"><h1>Invoice</h1><p class="muted">Invoice <code>${escapeHtml(id)}</code>: see GET /v1/invoices/${escapeHtml(id)}.</p></div>`, '', apiKey);
}

/** Each page renders from the double's API, called with the double's key (`apiKey`). */
const PAGES: Array<[RegExp, (id: string, apiKey: string) => string]> = [
  [/^\/c\/pay\/([^/]+)$/, checkoutPage],
  [/^\/p\/session\/([^/]+)$/, portalPage],
  [/^\/i\/([^/]+)(?:\/pdf)?$/, invoicePage],
];

/** The page for a GET of `path`, or undefined (server.ts answers 404). The name is server.ts's. */
export function placeholderPage(path: string, apiKey: string): { status: number; html: string } | undefined {
  for (const [pattern, render] of PAGES) {
    const m = pattern.exec(path);
    if (!m) continue;
    let id: string;
    try {
      id = decodeURIComponent(m[1] ?? '');
    } catch {
      return undefined; // malformed %-escape: not a page
    }
    return { status: 200, html: render(id, apiKey) };
  }
  return undefined;
}
