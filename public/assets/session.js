/**
 * Who is signed in, for the demo: a JWT kept in sessionStorage under `billing-token`, the key
 * the client reads by default, so it lasts for the tab, through the round trips to Checkout
 * and the portal, and no longer. A Supabase site needs no key of its own: the client finds
 * its session (README, "Browser client").
 */
import { BillingError, createBillingClient } from '../lib/billing-client.js';
import { site } from './site-config.js';

const KEY = 'billing-token';

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

export const billing = createBillingClient({ baseUrl: site.apiBase });

/** True when the token was refused or is gone: the customer must sign in again. */
export const sessionEnded = (err) => err instanceof BillingError && err.code === 'UNAUTHORIZED';

/**
 * What a customer reads about a failed call: plain words, no codes or request ids (those go
 * to the console, for whoever looks into it).
 */
export function describe(err) {
  console.warn('billing call failed', err instanceof BillingError ? { code: err.code, status: err.status, requestId: err.requestId, message: err.message } : err);
  if (!(err instanceof BillingError)) return 'Something went wrong. Please try again.';
  switch (err.code) {
    case 'UNAUTHORIZED': return 'Your session has expired. Please sign in again.';
    case 'RATE_LIMITED': return `Too many requests. Please try again${err.retryAfter ? ` in ${err.retryAfter} seconds` : ' in a moment'}.`;
    case 'NETWORK_ERROR': return 'We could not reach the server. Check your connection and try again.';
    // The API's own 4xx messages are written for people: "Already subscribed", "No active subscription".
    case 'BAD_REQUEST': case 'FORBIDDEN': return `${err.message.replace(/\.$/, '')}.`;
    default: return 'Something went wrong on our side. Please try again in a moment.';
  }
}

export function showError(box, err) {
  box.textContent = describe(err);
  box.hidden = false;
}

/** An expired session: say so, with a link that signs in and comes back here. */
export function offerSignIn(box) {
  box.textContent = 'Your session has expired. ';
  const a = Object.assign(document.createElement('a'), { href: `/account.html?next=${encodeURIComponent(location.pathname)}`, textContent: 'Sign in again' });
  box.append(a, '.');
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
