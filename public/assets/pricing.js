/** The pricing page: one card per plan of the catalogue (GET plans); Subscribe goes to Stripe Checkout. */
import { featureText, limitText, priceText, trialText } from './plan-words.js';
import { billing, claims, getToken, header, offerSignIn, sessionEnded, showError, signOut } from './session.js';
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
  el.querySelector('button').addEventListener('click', (e) => subscribe(price, e.currentTarget));
  return el;
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
    if (err.code === 'BAD_REQUEST' && /already subscribed/i.test(err.message)) {
      errorBox.textContent = 'You already have a plan: manage it on your ';
      errorBox.append(Object.assign(document.createElement('a'), { href: '/account.html', textContent: 'account page' }), '.');
    }
    button.disabled = false;
    button.textContent = 'Subscribe';
  }
}

// Signed in: say who, and mark the plan they have.
const token = getToken();
if (token) {
  const who = document.querySelector('#who');
  who.textContent = `Signed in as ${claims(token)?.sub ?? 'unknown'}.`;
  who.hidden = false;
  Promise.all([billing.getSubscription(), catalogue]).then(([s]) => {
    if (!s.hasAccess || !s.subscription) return;
    who.textContent += ` Your plan: ${s.subscription.plan} (${s.state}).`;
    const card = s.plan && plansBox.querySelector(`[data-plan="${CSS.escape(s.plan.key)}"]`);
    if (card) {
      card.classList.add('current');
      const button = card.querySelector('button');
      button.textContent = 'Current plan';
      button.disabled = true;
    }
  }, failed);
}

function failed(err) {
  if (!sessionEnded(err)) return showError(errorBox, err);
  console.warn('billing call failed', err);
  signOut();
  offerSignIn(errorBox);
}
