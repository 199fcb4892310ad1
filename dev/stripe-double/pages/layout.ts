/**
 * The frame of the double's hosted pages (Checkout, portal): a "test mode" banner, one
 * stylesheet, and a page script. The pages render in the browser from the double's own
 * API (the server hands out only the id), so they need nothing but the HTTP surface.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value as a JS literal that is safe inside <script> (no "</script>" can close it). */
export function scriptLiteral(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028|\u2029/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

const STYLE = `
  :root { color-scheme: light; --ink: #1a1f36; --muted: #697386; --line: #e3e8ee; --brand: #635bff; --bad: #c0123c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f9fc; }
  .banner { background: #ffde92; color: #5e3c00; text-align: center; font-size: 13px; padding: 4px; }
  main { max-width: 880px; margin: 32px auto; padding: 0 20px; }
  .cols { display: grid; grid-template-columns: 1fr 1fr; gap: 48px; }
  @media (max-width: 720px) { .cols { grid-template-columns: 1fr; } }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; margin-bottom: 20px; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 12px; }
  .muted { color: var(--muted); } .amount { font-size: 36px; font-weight: 600; }
  label { display: block; font-size: 13px; color: var(--muted); margin: 12px 0 4px; }
  input[type=email], input[type=text] { width: 100%; padding: 9px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  input:disabled { background: #f6f9fc; color: var(--muted); }
  button { font: inherit; cursor: pointer; border-radius: 6px; padding: 9px 16px; border: 1px solid var(--line); background: #fff; color: var(--ink); }
  button.primary { width: 100%; margin-top: 20px; background: var(--brand); border-color: var(--brand); color: #fff; font-weight: 600; padding: 12px; }
  button.danger { color: var(--bad); }
  button:disabled { opacity: .6; cursor: default; }
  a { color: var(--brand); text-decoration: none; } a:hover { text-decoration: underline; }
  .alert { border-radius: 6px; padding: 10px 12px; margin: 12px 0; background: #fde8ec; color: var(--bad); }
  .notice { border-radius: 6px; padding: 10px 12px; margin: 12px 0; background: #e6f7ee; color: #0b6b3a; }
  .row { display: flex; justify-content: space-between; gap: 12px; padding: 8px 0; border-top: 1px solid var(--line); }
  .row:first-of-type { border-top: 0; }
  .actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 12px; }
  .badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #e3e8ee; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; } td { padding: 6px 0; border-top: 1px solid var(--line); }
`;

/** Helpers every page script uses: the double's API with a test key, money and dates. */
const COMMON_SCRIPT = `
  const $ = (sel) => document.querySelector(sel);
  const text = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  const money = (amount, currency) =>
    new Intl.NumberFormat('en-US', { style: 'currency', currency: String(currency || 'usd').toUpperCase() }).format((amount || 0) / 100);
  const day = (unix) => unix ? new Date(unix * 1000).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }) : '';
  async function call(method, path, body) {
    const init = { method, headers: {} };
    // /v1 wants the double's own key; /_double takes JSON and no key.
    if (path.startsWith('/v1/')) init.headers.Authorization = 'Bearer ' + API_KEY;
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const res = await fetch(path, init);
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((json.error && json.error.message) || ('HTTP ' + res.status));
    return json;
  }
  function showError(err) {
    const box = $('#error');
    box.textContent = err instanceof Error ? err.message : String(err);
    box.hidden = false;
  }
`;

/**
 * A page that calls the double's /v1 with `apiKey`, the double's own test key: whoever can load
 * the page can reach /_double, which takes no key, so the page gives away nothing more.
 */
export function hostedPage(title: string, body: string, script: string, apiKey: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} (Stripe double)</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<div class="banner">TEST MODE: local Stripe double. No real payment is made.</div>
<main>
<div id="error" class="alert" role="alert" hidden></div>
${body}
</main>
<script>
${COMMON_SCRIPT.replace('API_KEY', () => scriptLiteral(apiKey))}
${script}
</script>
</body>
</html>`;
}
