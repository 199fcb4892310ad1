/**
 * npm run plans -- diff | push: compares catalogue.ts (or BILLING_CATALOGUE) with the Stripe
 * account of STRIPE_SECRET_KEY and, with `push`, makes Stripe match (scripts/plans/sync.ts).
 * `diff` changes nothing. Both print one line per change; running push twice, the second says
 * nothing changed. Reads the same environment as the functions (process env, then .env).
 */
import { loadDotEnv } from '../dev/dotenv.ts';
import { ConfigError, parseConfig } from '../shared/config.ts';
import { stripeClient } from '../shared/stripe.ts';
import { syncCatalogue } from './plans/sync.ts';

const command = process.argv[2];
if (command !== 'diff' && command !== 'push') {
  console.error('usage: npm run plans -- diff | push');
  process.exit(2);
}
for (const [k, v] of Object.entries(loadDotEnv())) process.env[k] ??= v;
try {
  const cfg = parseConfig();
  if (!cfg.STRIPE_SECRET_KEY) throw new ConfigError('STRIPE_SECRET_KEY', 'is required: the Stripe account to compare with');
  const where = cfg.STRIPE_API_BASE ? `the Stripe double at ${cfg.STRIPE_API_BASE}` : `Stripe (${cfg.STRIPE_SECRET_KEY.includes('_live_') ? 'LIVE' : 'test'} mode)`;
  const { changes } = await syncCatalogue(stripeClient(cfg), cfg.catalogue, command === 'push');
  for (const line of changes) console.log(`${command === 'push' ? '' : 'would '}${line}`);
  console.log(changes.length === 0 ? `plans: ${where} matches the catalogue; nothing to change` : `plans: ${changes.length} change(s) ${command === 'push' ? 'made in' : 'needed in'} ${where}`);
} catch (err) {
  // A bad catalogue or setting names what is wrong; Stripe's errors say what it refused.
  console.error(`plans ${command} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
