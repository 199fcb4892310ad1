import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';

export const API_VERSION = '2026-10-28.endive';

/** The objects the double puts into events. */
export type EventObject =
  | Stripe.Customer
  | Stripe.Subscription
  | Stripe.SubscriptionSchedule
  | Stripe.Invoice
  | Stripe.Checkout.Session
  | Stripe.BillingPortal.Session
  | Stripe.Product
  | Stripe.Price;

export interface EventOrigin {
  requestId: string | null;
  idempotencyKey: string | null;
}

export function buildEvent<T extends EventObject>(
  type: Stripe.Event.Type,
  object: T,
  previous: Partial<T> | undefined,
  created: number,
  origin: EventOrigin,
  pendingWebhooks: number,
): Stripe.Event {
  const e = fixture('event');
  const data: { object: T; previous_attributes?: Partial<T> } = { object };
  if (previous !== undefined) data.previous_attributes = previous;
  const built = {
    ...e,
    id: newId.event(),
    api_version: API_VERSION,
    created,
    data,
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: origin.requestId, idempotency_key: origin.idempotencyKey },
    type,
  };
  // Stripe.Event is a union discriminated by `type`; `type` and `data.object` are paired by the callers.
  return built as unknown as Stripe.Event;
}
