/**
 * /api/stripe/usage (alias /api/billing/usage)
 * - POST, service key (BILLING_SERVICE_KEY): records usage, one record or `{ records }`
 *   of up to 1,000, validated all or nothing; a key seen before is a no-op, answered as a
 *   duplicate; records past a hard limit of the account's plan are refused (LIMIT_EXCEEDED).
 * - GET, user JWT: the account's usage in its current billing period; `?source=stripe`
 *   adds Stripe's meter event summaries for the same period.
 */
import type { UsageRecorded } from '../client/billing-client.ts';
import { parseJson, readText } from '../shared/body.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { badRequest } from '../shared/errors.ts';
import { getStore } from '../shared/store/index.ts';
import { usageRead, usageView } from '../shared/usage/view.ts';
import { userRoute } from '../shared/user-route.ts';

export default defineEndpoint('usage', {
  GET: userRoute({
    read: ({ cfg, principal }) => usageRead(getStore(cfg), principal.accountId),
    async handle({ cfg, log, url, principal }, overview) {
      const source = url.searchParams.get('source');
      if (source !== null && source !== 'stripe') throw badRequest('source must be "stripe" when given');
      return usageView(cfg, log, overview, principal, source === 'stripe');
    },
  }),
  POST: {
    auth: 'service',
    async handle({ req, cfg, log, ctx }) {
      // Loaded here: its validation (zod) is not on GET usage's cold start.
      const { MAX_USAGE_BODY, parseUsageBody } = await import('../shared/usage/parse-records.ts');
      const { knownFeatures, recordOptions } = await import('../shared/usage/limits.ts');
      const features = { metered: cfg.catalogue.meteredFeature, known: knownFeatures(cfg.catalogue) };
      const { records } = parseUsageBody(parseJson(await readText(req, MAX_USAGE_BODY)), features);
      const options = recordOptions(cfg);
      const { accepted, duplicates, refused } = await getStore(cfg).recordUsage(records, options);
      const answer: UsageRecorded = {
        accepted,
        duplicates: duplicates.map((index) => ({ index, idempotencyKey: records[index]!.key })),
        refused: refused.map(({ index, feature }) => ({ index, idempotencyKey: records[index]!.key, feature, code: 'LIMIT_EXCEEDED' })),
      };
      // Usage that crossed a threshold wrote an alert: send it once the answer is out, when the
      // platform allows (the usage-alerts schedule sends it otherwise, and retries failures).
      if (ctx.waitUntil && accepted > 0 && options.limits) {
        const { runUsageAlerts } = await import('../shared/alerts/run.ts');
        ctx.waitUntil(runUsageAlerts(cfg, log, 5_000));
      }
      return answer;
    },
  },
});
