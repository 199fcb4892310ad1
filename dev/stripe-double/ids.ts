import { randomBytes } from 'node:crypto';

const ALPHANUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Random [0-9A-Za-z] string, like the tails of Stripe ids. */
export function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUM[(bytes[i] ?? 0) % ALPHANUM.length];
  return out;
}

/** Ids shaped like Stripe's (prefix + opaque tail of the usual length). */
export const newId = {
  customer: () => `cus_${randomAlnum(14)}`,
  product: () => `prod_${randomAlnum(14)}`,
  price: () => `price_1${randomAlnum(23)}`,
  subscription: () => `sub_1${randomAlnum(23)}`,
  subscriptionItem: () => `si_${randomAlnum(14)}`,
  subscriptionSchedule: () => `sub_sched_1${randomAlnum(23)}`,
  upcomingInvoice: () => `upcoming_in_1${randomAlnum(23)}`,
  invoice: () => `in_1${randomAlnum(23)}`,
  invoiceLine: () => `il_1${randomAlnum(23)}`,
  checkoutSession: () => `cs_test_a1${randomAlnum(56)}`,
  checkoutLineItem: () => `li_1${randomAlnum(23)}`,
  portalSession: () => `bps_1${randomAlnum(23)}`,
  portalConfiguration: () => `bpc_1${randomAlnum(23)}`,
  feature: () => `feat_test_${randomAlnum(30)}`,
  productFeature: () => `prodft_${randomAlnum(24)}`,
  event: () => `evt_1${randomAlnum(23)}`,
  request: () => `req_${randomAlnum(14)}`,
  meterEventIdentifier: () => `mev_${randomAlnum(24)}`,
};

export function invoicePrefix(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}
