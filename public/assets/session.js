/**
 * Who is signed in, for the demo: a JWT kept in sessionStorage, so it lasts for the tab,
 * through the round trips to Checkout and the portal, and no longer. A real site hands its
 * own session token (e.g. Supabase's access token) to `getToken` instead.
 */
import { BillingError, createBillingClient } from '../lib/billing-client.js';
import { site } from './site-config.js';

const KEY = 'billing-demo-token';

export const getToken = () => sessionStorage.getItem(KEY);
export const setToken = (token) => sessionStorage.setItem(KEY, token.trim());
export const signOut = () => sessionStorage.removeItem(KEY);

/** `npm run dev` prints a sign-in link with the token in the fragment (never sent to a server). */
export function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

/** The token's claims, for display only (the server verifies the signature). */
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return null;
  }
}

export const billing = createBillingClient({ baseUrl: site.apiBase, getToken });

/** One line for a failed call: the message, and what to quote when reporting it. */
export function describe(err) {
  if (!(err instanceof BillingError)) return String(err && err.message ? err.message : err);
  const wait = err.retryAfter !== null ? ` Try again in ${err.retryAfter} s.` : '';
  const ref = err.requestId ? ` (${err.code}, request ${err.requestId})` : ` (${err.code})`;
  return `${err.message}.${wait}${ref}`.replace('..', '.');
}

export function showError(box, err) {
  box.textContent = describe(err);
  box.hidden = false;
}

export const day = (iso) =>
  iso ? new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }) : '';

export function header(active) {
  const nav = document.querySelector('header');
  nav.innerHTML = `<a class="brand" href="/">${site.name}</a>
    <nav><a href="/pricing.html"${active === 'pricing' ? ' aria-current="page"' : ''}>Pricing</a>
    <a href="/account.html"${active === 'account' ? ' aria-current="page"' : ''}>Account</a></nav>`;
}
