/**
 * The pricing page: one card per plan of the catalogue (GET plans). Subscribe goes to Stripe
 * Checkout; a subscriber switches plans here instead, after a preview of what it costs
 * (POST subscription with preview, then the same change confirmed).
 */
import { featureText, limitText, moneyText, priceText, trialText } from './plan-words.js';
import { billing, claims, day, getToken, header, offerSignIn, sessionEnded, showError, signOut } from './session.js';
import { site } from './site-config.js';

header('pricing');
document.title = `Pricing - ${site.name}`;
document.querySelector('#tagline').textContent = site.tagline;
const errorBox = document.querySelector('#error');
const plansBox = document.querySelector('#plans');

if (new URLSearchParams(location.search).get('canceled') === 'true') {
  const notice = document.querySelector('#notice');
  notice.textContent = 'Checkout canceled: you have not been charged.';
  notice.classList.add('info');
  notice.hidden = false;
}

// The plans are the catalogue's (GET plans): nothing here repeats a price.
const catalogue = billing.getPlans().then(
  ({ plans }) => {
    for (const plan of plans.filter((p) => p.prices.length > 0)) plansBox.append(card(plan));
  },
  (err) => showError(errorBox, err),
);

function card(plan) {
  const price = plan.prices[0];
  const { amount, per } = priceText(price);
  const el = document.createElement('section');
  el.className = `plan${plan.key === site.featured ? ' featured' : ''}`;
  el.dataset.plan = plan.key;
  el.innerHTML = `<h2></h2><p class="muted small description"></p><p class="price"><strong></strong> / <span></span></p><p class="trial small"></p><ul></ul><button class="primary" type="button">Subscribe</button>`;
  el.querySelector('h2').textContent = plan.name;
  el.querySelector('.description').textContent = plan.description;
  el.querySelector('.price strong').textContent = amount;
  el.querySelector('.price span').textContent = per;
  const trial = trialText(plan.trial);
  if (trial) el.querySelector('.trial').textContent = trial;
  else el.querySelector('.trial').remove();
  const lines = [
    ...Object.entries(plan.limits).map(([feature, l]) => limitText(feature, l, price.interval)),
    ...Object.entries(plan.features).filter(([, on]) => on).map(([key]) => featureText(key)),
  ];
  for (const line of lines) el.querySelector('ul').append(Object.assign(document.createElement('li'), { textContent: line }));
  el.querySelector('button').addEventListener('click', (e) => (current ? previewSwitch(plan, price, e.currentTarget) : subscribe(price, e.currentTarget)));
  return el;
}

/** The signed-in account's subscription while it has one to change (set below), else null. */
let current = null;

/** Shows what switching to `plan` does and costs, from Stripe's preview, with a button that confirms it. */
async function previewSwitch(plan, price, button) {
  errorBox.hidden = true;
  button.disabled = true;
  const card = button.closest('.plan');
  card.querySelector('.confirm')?.remove();
  try {
    const preview = await billing.changePlan({ priceId: price.id, preview: true });
    const box = document.createElement('div');
    box.className = 'confirm';
    box.innerHTML = '<p class="small"></p><button class="primary" type="button"></button> <button class="link" type="button">Keep my plan</button>';
    box.querySelector('p').textContent = switchText(plan, preview);
    const confirm = box.querySelector('button.primary');
    confirm.textContent = preview.kind === 'upgrade' ? `Pay ${moneyText(preview.amountDueNow, preview.currency)} and switch` : `Switch on ${day(preview.effectiveAt)}`;
    confirm.addEventListener('click', () => confirmSwitch(plan, price, preview, confirm));
    box.querySelector('button.link').addEventListener('click', () => box.remove());
    card.append(box);
  } catch (err) {
    failed(err);
  } finally {
    button.disabled = false;
  }
}

function switchText(plan, p) {
  const next = p.nextInvoice ? ` Then ${moneyText(p.nextInvoice.amount, p.currency)} on ${day(p.nextInvoice.date)}.` : '';
  if (p.kind === 'upgrade') {
    return `Switch to ${plan.name} now: ${moneyText(p.amountDueNow, p.currency)} today for the rest of this period (your unused time on ${p.from.plan?.name ?? 'your plan'} is credited).${next}`;
  }
  return `Switch to ${plan.name} at the end of this period, on ${day(p.effectiveAt)}: nothing to pay now, and ${p.from.plan?.name ?? 'your plan'} stays until then.${next}`;
}

async function confirmSwitch(plan, price, preview, button) {
  button.disabled = true;
  try {
    // The preview's moment: the charge is the one just shown.
    const done = await billing.changePlan({ priceId: price.id, prorationDate: preview.prorationDate });
    button.closest('.confirm').remove();
    const notice = document.querySelector('#notice');
    notice.textContent = done.status === 'scheduled' ? `Your plan changes to ${plan.name} on ${day(done.effectiveAt)}.` : `You are now on ${plan.name}.`;
    notice.classList.add('info');
    notice.hidden = false;
    // Our copy of the subscription follows Stripe's events, a moment behind: wait for it a little.
    for (let i = 0; i < 10; i++) {
      const s = await markCurrent();
      if (done.status === 'scheduled' ? s?.subscription?.pendingChange : s?.plan?.key === plan.key) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    failed(err);
    if (err.code === 'PAYMENT_FAILED' && err.details?.invoiceUrl) {
      errorBox.append(' ', Object.assign(document.createElement('a'), { href: err.details.invoiceUrl, textContent: 'Pay the invoice' }));
    }
    button.disabled = false;
  }
}

async function subscribe(price, button) {
  errorBox.hidden = true;
  if (!getToken()) {
    location.assign(`/account.html?next=${encodeURIComponent('/pricing.html')}`);
    return;
  }
  button.disabled = true;
  button.textContent = 'Opening checkout...';
  try {
    await billing.redirectToCheckout({
      priceId: price.id,
      successUrl: '/account.html?success=true',
      cancelUrl: '/pricing.html?canceled=true',
    });
  } catch (err) {
    failed(err);
    // Subscribed in another tab since this page loaded: switch plans here instead.
    if (err.code === 'ALREADY_SUBSCRIBED') {
      errorBox.textContent = 'You already have a plan: reload this page to switch plans.';
    }
    button.disabled = false;
    button.textContent = 'Subscribe';
  }
}

// Signed in: say who (at once), mark the plan they have, and offer the others as switches.
const who = document.querySelector('#who');
const signedInAs = () => `Signed in as ${claims(getToken())?.sub ?? 'unknown'}.`;
if (getToken()) {
  who.textContent = signedInAs();
  who.hidden = false;
  markCurrent().catch(failed);
}

async function markCurrent() {
  const [s] = await Promise.all([billing.getSubscription(), catalogue]);
  who.textContent = signedInAs();
  if (!s.hasAccess || !s.subscription) return s;
  const pending = s.subscription.pendingChange;
  who.textContent += ` Your plan: ${s.subscription.plan} (${s.state})${pending ? `, changing to ${pending.plan} on ${day(pending.effectiveAt)}` : ''}.`;
  // A plan that is ending or unpaid is settled on the account page, not switched here.
  current = s.state === 'active' || s.state === 'trialing' ? s : null;
  for (const card of plansBox.querySelectorAll('.plan')) {
    const mine = card.dataset.plan === s.plan?.key;
    card.classList.toggle('current', mine);
    const button = card.querySelector('button');
    button.disabled = mine || !current;
    button.textContent = mine ? 'Current plan' : current ? `Switch to ${card.querySelector('h2').textContent}` : 'Subscribe';
  }
  return s;
}

function failed(err) {
  if (!sessionEnded(err)) return showError(errorBox, err);
  console.warn('billing call failed', err);
  signOut();
  offerSignIn(errorBox);
}
