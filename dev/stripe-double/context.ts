/** What the API handlers, the billing logic and the actions share. */
import type { Clock } from './clock.ts';
import type { EventBus } from './events.ts';
import type { Store } from './store.ts';

/** URLs handed out, under `publicBaseUrl` if given, else the double's own URL. */
export interface Urls {
  checkout(sessionId: string): string;
  portal(sessionId: string): string;
  invoice(invoiceId: string): string;
}

export interface Ctx {
  store: Store;
  clock: Clock;
  bus: EventBus;
  urls: Urls;
}

export function makeUrls(base: () => string): Urls {
  return {
    checkout: (id) => `${base()}/c/pay/${id}`,
    portal: (id) => `${base()}/p/session/${id}`,
    invoice: (id) => `${base()}/i/${id}`,
  };
}

/** The Checkout Session id in a URL `urls.checkout` made (what checkout answers), for tests and tools. */
export function checkoutSessionIdOf(url: string): string {
  const id = /\/c\/pay\/(cs_[A-Za-z0-9_]+)/.exec(url)?.[1];
  if (!id) throw new Error(`no Checkout Session id in ${url}`);
  return id;
}
