/**
 * Runs the Stripe double on its own:
 *   tsx dev/stripe-double/main.ts --port 12111 --webhook-url http://localhost:8888/api/stripe/webhook --webhook-secret whsec_...
 * Options fall back to STRIPE_DOUBLE_PORT, STRIPE_DOUBLE_WEBHOOK_URL, STRIPE_DOUBLE_WEBHOOK_SECRET, STRIPE_DOUBLE_PUBLIC_URL,
 * STRIPE_DOUBLE_API_KEY (the one secret key it accepts; default sk_test_local_double).
 * --rate-limits test|live (STRIPE_DOUBLE_RATE_LIMITS) enforces Stripe's request rate limits (rate-limits.ts).
 */
import { parseArgs } from 'node:util';
import { startStripeDouble, type StripeDoubleOptions } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'webhook-url': { type: 'string' },
    'webhook-secret': { type: 'string' },
    'public-base-url': { type: 'string' },
    'api-key': { type: 'string' },
    'rate-limits': { type: 'string' },
  },
});

const port = Number(values.port ?? process.env.STRIPE_DOUBLE_PORT ?? 12111);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`stripe double: bad --port ${values.port ?? ''}`);
  process.exit(2);
}
const webhookUrl = values['webhook-url'] ?? process.env.STRIPE_DOUBLE_WEBHOOK_URL;
const webhookSecret = values['webhook-secret'] ?? process.env.STRIPE_DOUBLE_WEBHOOK_SECRET;
if ((webhookUrl === undefined) !== (webhookSecret === undefined)) {
  console.error('stripe double: give both --webhook-url and --webhook-secret, or neither');
  process.exit(2);
}
const publicBaseUrl = values['public-base-url'] ?? process.env.STRIPE_DOUBLE_PUBLIC_URL;

const apiKey = values['api-key'] ?? process.env.STRIPE_DOUBLE_API_KEY;

const rateLimits = values['rate-limits'] ?? process.env.STRIPE_DOUBLE_RATE_LIMITS;
if (rateLimits !== undefined && rateLimits !== '' && rateLimits !== 'off' && rateLimits !== 'test' && rateLimits !== 'live') {
  console.error(`stripe double: --rate-limits must be test, live or off (got ${rateLimits})`);
  process.exit(2);
}

const opts: StripeDoubleOptions = { port };
if (rateLimits === 'test' || rateLimits === 'live') opts.rateLimits = rateLimits;
if (apiKey) opts.apiKey = apiKey;
if (values.host) opts.host = values.host;
if (webhookUrl && webhookSecret) opts.webhook = { url: webhookUrl, secret: webhookSecret };
if (publicBaseUrl) opts.publicBaseUrl = publicBaseUrl;

const double = await startStripeDouble(opts).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
});
console.log(
  `stripe double listening on ${double.url} (key ${double.apiKey})${webhookUrl ? `, sending webhooks to ${webhookUrl}` : ' (no webhook target)'}` +
    `${opts.rateLimits ? `, ${opts.rateLimits}-mode rate limits` : ''}`,
);

const stop = () => {
  double.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
