/** The pricing page: one card per configured plan; Subscribe goes to Stripe Checkout. */
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

for (const plan of site.plans) {
  const card = document.createElement('section');
  card.className = `plan${plan.featured ? ' featured' : ''}`;
  card.dataset.price = plan.priceId;
  card.innerHTML = `<h2></h2><p class="price"><strong></strong> / <span></span></p><ul></ul><button class="primary" type="button">Subscribe</button>`;
  card.querySelector('h2').textContent = plan.name;
  card.querySelector('.price strong').textContent = plan.price;
  card.querySelector('.price span').textContent = plan.per;
  for (const f of plan.features) card.querySelector('ul').append(Object.assign(document.createElement('li'), { textContent: f }));
  card.querySelector('button').addEventListener('click', (e) => subscribe(plan, e.currentTarget));
  plansBox.append(card);
}

async function subscribe(plan, button) {
  errorBox.hidden = true;
  if (!getToken()) {
    location.assign(`/account.html?next=${encodeURIComponent('/pricing.html')}`);
    return;
  }
  button.disabled = true;
  button.textContent = 'Opening checkout...';
  try {
    await billing.redirectToCheckout({
      priceId: plan.priceId,
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
  billing.getSubscription().then((s) => {
    if (!s.hasAccess || !s.subscription) return;
    who.textContent += ` Your plan: ${s.subscription.plan} (${s.state}).`;
    const card = plansBox.querySelector(`[data-price="${CSS.escape(s.subscription.priceId ?? '')}"]`);
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
