/**
 * POST subscription's handler (loaded by functions/subscription.ts on the first change, so
 * GET never loads zod or the Stripe SDK): checks the request (every 4xx before Stripe),
 * then previews the change, or applies it holding the account's change lock.
 */
import type { PlanChange } from '../../client/billing-client.ts';
import type { Access } from '../access.ts';
import { requireBillingManager } from '../auth.ts';
import { readJson } from '../body.ts';
import { apiPath } from '../responses.ts';
import { getStore } from '../store/index.ts';
import type { UserCall } from '../user-route.ts';
import * as z from '../zod.ts';
import { changePlan } from './change.ts';
import { withChangeLock } from './lock.ts';
import { changeTarget, PRICE_ID, SEATS } from './target.ts';

const ChangeBody = z.strictObject({
  priceId: PRICE_ID,
  quantity: SEATS,
  preview: z.optional(z.boolean()),
  prorationDate: z.optional(z.number().check(z.int('must be whole unix seconds'), z.positive())),
});

export async function postChange({ req, cfg, principal, dialect }: UserCall, access: Access): Promise<PlanChange> {
  requireBillingManager(principal, cfg);
  const body = await readJson(req, ChangeBody);
  const target = changeTarget(cfg, access, body, apiPath(dialect, 'checkout'));
  const call = { cfg, accountId: principal.accountId, target, preview: body.preview === true };
  // A preview changes nothing: it needs no turn.
  return call.preview ? changePlan(call) : withChangeLock(getStore(cfg), principal.accountId, () => changePlan(call));
}
