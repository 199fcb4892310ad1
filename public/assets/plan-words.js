/** Plans in customer words, from GET plans' shapes: prices, limits, trials. */
import { site } from './site-config.js';

const number = new Intl.NumberFormat('en-US');

export const unitOf = (feature) => site.units[feature] ?? feature.replace(/_/g, ' ');

/** "$12.34" from an amount in the currency's smallest unit. */
export const moneyText = (amount, currency) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(amount / 100);

/** "$29 / month", "$9.50 / 3 months". */
export function priceText(p) {
  const money = new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: p.currency.toUpperCase(),
    maximumFractionDigits: p.unitAmount % 100 === 0 ? 0 : 2,
  }).format(p.unitAmount / 100);
  return { amount: money, per: p.intervalCount === 1 ? p.interval : `${p.intervalCount} ${p.interval}s` };
}

/** One line per limit: soft limits are included and then billed, hard ones are a ceiling. */
export function limitText(feature, l, per = 'month') {
  return l.hard
    ? `Up to ${number.format(l.limit)} ${unitOf(feature)} a ${per}`
    : `${number.format(l.limit)} ${unitOf(feature)} a ${per} included, then billed per use`;
}

export function trialText(trial) {
  if (!trial) return null;
  return `${trial.days}-day free trial${trial.card === 'if_required' ? ', no card needed' : ''}`;
}

export const featureText = (key) => site.features[key] ?? key.replace(/_/g, ' ');
