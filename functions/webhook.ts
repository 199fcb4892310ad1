/**
 * POST /api/stripe/webhook (alias /api/billing/webhook): Stripe events, verified on the
 * raw body. 400 for a bad signature (nothing changes); 200 for handled, ignored and
 * duplicate events; 5xx when the event could not be applied, so Stripe retries it.
 */
import Stripe from 'stripe';
import { readText } from '../shared/body.ts';
import { required } from '../shared/config.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { badRequest } from '../shared/errors.ts';
import { getStore } from '../shared/store/index.ts';
import { applyStripeEvent, checkApiVersion, checkEvent } from '../shared/webhook-events.ts';

export const MAX_WEBHOOK_BODY = 1024 * 1024;
/** Stripe's default tolerance for the signature timestamp. */
const TOLERANCE_SECONDS = 300;

/** Tries each configured secret, so a secret can be rolled without dropping events. */
function verify(payload: string, header: string | null, secrets: string[]): Stripe.Event {
  if (!header) throw badRequest('Missing Stripe-Signature header');
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(payload, header, secret, TOLERANCE_SECONDS);
    } catch {
      // next secret
    }
  }
  throw badRequest('Invalid signature');
}

export default defineEndpoint('webhook', {
  POST: {
    auth: 'none',
    async handle({ req, cfg, log }) {
      const secrets = required('STRIPE_WEBHOOK_SECRET');
      const payload = await readText(req, MAX_WEBHOOK_BODY);
      const event = verify(payload, req.headers.get('stripe-signature'), secrets);
      checkEvent(event);
      checkApiVersion(event, log);
      const { duplicate, outcome } = await applyStripeEvent(cfg, getStore(cfg), event, log);
      log.info('stripe_event', { eventId: event.id, type: event.type, outcome, duplicate });
      return { received: true, ...(duplicate ? { duplicate: true } : {}), ...(outcome === 'ignored' ? { ignored: true } : {}) };
    },
  },
});
