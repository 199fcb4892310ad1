/** The account page: sign in, access state and period, the billing portal, this period's usage. */
import { billing, claims, day, getToken, header, setToken, showError, signOut, takeTokenFromFragment } from './session.js';
import { sameOriginPath } from './next-path.js';
import { unitOf } from './plan-words.js';
import { site } from './site-config.js';

header('account');
document.title = `Account - ${site.name}`;
const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const errorBox = $('#error');
const number = new Intl.NumberFormat('en-US');

/** What each access state means to the customer. */
const SUMMARY = {
  none: () => 'You have no plan yet.',
  trialing: (s) => `Your ${s.subscription.plan} trial runs until ${day(s.subscription.trialEnd)}.`,
  active: (s) => `Your ${s.subscription.plan} plan is active.`,
  past_due: (s) => `Your last payment failed. Update your payment method: access continues until ${day(s.accessUntil)}.`,
  canceling: (s) => `Your ${s.subscription.plan} plan is canceled and ends on ${day(s.subscription.cancelAt ?? s.subscription.currentPeriodEnd)}. You have access until then.`,
  ended: () => 'Your plan has ended.',
};

takeTokenFromFragment();
if (getToken()) showAccount();
else showSignIn();

function showSignIn() {
  $('#signin').hidden = false;
  $('#signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('#token').value);
    // Only a path on this site: the parameter must not become an open redirect.
    const next = sameOriginPath(params.get('next'), location.origin);
    if (next) location.assign(next);
    else location.reload();
  });
}

async function showAccount() {
  const c = claims(getToken()) ?? {};
  $('#who').textContent = `Signed in as ${c.sub ?? 'unknown'}${c.email ? ` (${c.email})` : ''}.`;
  $('#account').hidden = false;
  $('#signout').addEventListener('click', () => {
    signOut();
    location.assign('/account.html');
  });
  $('#portal').addEventListener('click', openPortal);
  // Past due: straight to the portal's one task that fixes it (a deep link), then back here.
  $('#pay-now').addEventListener('click', (e) => openPortal(e, { flow: 'payment_method_update' }));
  $('#keep-plan').addEventListener('click', keepPlan);

  try {
    let sub = await billing.getSubscription();
    // Stripe's webhook can arrive after the customer does: wait for it a little.
    for (let i = 0; params.get('success') === 'true' && !sub.hasAccess && i < 10; i++) {
      notice('Payment received; waiting for Stripe to confirm your subscription...');
      await new Promise((r) => setTimeout(r, 1500));
      sub = await billing.getSubscription();
    }
    if (params.get('success') === 'true') notice(sub.hasAccess ? 'Thank you: your subscription is confirmed.' : 'Stripe has not confirmed the payment yet: reload in a minute.');
    renderSubscription(sub);
  } catch (err) {
    showError(errorBox, err);
    // An expired or foreign token: sign in again.
    if (err.code === 'UNAUTHORIZED') {
      signOut();
      $('#account').hidden = true;
      showSignIn();
      return;
    }
  }
  billing.getUsage().then(renderUsage, (err) => {
    $('#usage-summary').textContent = 'Usage is not available right now.';
    showError(errorBox, err);
  });
}

function notice(text) {
  $('#notice').textContent = text;
  $('#notice').hidden = false;
}

function renderSubscription(s) {
  $('#state').textContent = s.state;
  $('#state').dataset.state = s.state;
  $('#summary').textContent = (SUMMARY[s.state] ?? (() => `State: ${s.state}.`))(s);
  const sub = s.subscription;
  if (sub && s.state !== 'none') {
    $('#plan').textContent = sub.plan ?? sub.priceId;
    $('#details').hidden = false;
    // An ended plan has no period running, nothing that renews or ends.
    const running = s.state !== 'ended';
    for (const el of document.querySelectorAll('#details .period')) el.hidden = !running;
    if (running) {
      $('#period').textContent = `${day(sub.currentPeriodStart)} to ${day(sub.currentPeriodEnd)}`;
      $('#until-label').textContent = sub.cancelAtPeriodEnd || sub.cancelAt ? 'Ends' : 'Renews';
      $('#until').textContent = day(sub.cancelAt ?? sub.currentPeriodEnd);
    }
  }
  // A downgrade waiting for the period's end, until Stripe applies it; it can be called off.
  const pending = s.hasAccess ? sub?.pendingChange : null;
  $('#pending').hidden = !pending;
  if (pending) {
    $('#pending span').textContent = `Your plan changes to ${pending.plan}${pending.quantity > 1 ? ` (${pending.quantity} seats)` : ''} on ${day(pending.effectiveAt)}.`;
    $('#keep-plan').textContent = `Keep ${sub.plan}`;
    $('#keep-plan').dataset.priceId = sub.priceId;
    $('#keep-plan').dataset.quantity = String(sub.quantity);
  }
  $('#choose').hidden = s.hasAccess;
  $('#portal').hidden = !(s.customerId && sub);
  $('#pay-now').hidden = s.state !== 'past_due';
}

/** Calls off the pending change: the same plan and seats as now, which drops it. */
async function keepPlan(e) {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    await billing.changePlan({ priceId: button.dataset.priceId, quantity: Number(button.dataset.quantity) });
    notice('Your plan stays as it is: the scheduled change is canceled.');
    renderSubscription(await billing.getSubscription());
  } catch (err) {
    showError(errorBox, err);
  } finally {
    button.disabled = false;
  }
}

async function openPortal(e, flow = {}) {
  const button = e.currentTarget;
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Opening the billing portal...';
  try {
    await billing.redirectToPortal({ returnUrl: '/account.html?portal=return', ...flow });
  } catch (err) {
    showError(errorBox, err);
    button.disabled = false;
    button.textContent = label;
  }
}

function renderUsage(u) {
  const unit = unitOf(u.meteredFeature);
  const range = `${day(u.period.start)} to ${day(u.period.end)}`;
  $('#usage-summary').textContent = u.included > 0
    ? `${number.format(u.recorded)} of ${number.format(u.included)} ${unit} included (${range}).`
    : `${number.format(u.recorded)} ${unit} (${range}).`;
  $('#usage-summary').classList.remove('muted');
  if (u.included > 0) {
    $('.meter').hidden = false;
    $('.meter-fill').style.width = `${Math.min(100, (u.recorded / u.included) * 100)}%`;
  }
  // Every other limit of the plan, as "used of limit", with a bar.
  const list = $('#limits');
  list.replaceChildren();
  for (const [feature, l] of Object.entries(u.limits)) {
    if (feature === u.meteredFeature) continue; // shown above
    const item = document.createElement('li');
    item.dataset.feature = feature;
    item.innerHTML = '<span></span><div class="meter"><div class="meter-fill"></div></div>';
    item.querySelector('span').textContent = `${number.format(l.used)} of ${number.format(l.limit)} ${unitOf(feature)}${l.hard ? '' : ' included'}`;
    item.querySelector('.meter-fill').style.width = `${l.limit > 0 ? Math.min(100, (l.used / l.limit) * 100) : 100}%`;
    list.append(item);
  }
  list.hidden = list.children.length === 0;
  // Near or over a limit, in plain words (the ledger's reporting to Stripe is ours to worry about).
  const warnings = Object.entries(u.limits).map(([feature, l]) => limitWarning(feature, l)).filter(Boolean);
  const box = $('#limit-warning');
  box.textContent = warnings.join(' ');
  box.hidden = warnings.length === 0;
  const parts = [];
  if (u.period.source === 'calendar_month') parts.push('No current billing period: showing this calendar month.');
  $('#usage-detail').textContent = parts.join(' ');
}

function limitWarning(feature, l) {
  const what = unitOf(feature);
  if (l.hard && l.used >= l.limit) return `You have used all ${number.format(l.limit)} ${what} of your plan: more will be refused until ${day(l.resetsAt)}. Upgrade for more.`;
  if (!l.hard && l.used > l.limit) return `You are ${number.format(l.used - l.limit)} ${what} over your plan's ${number.format(l.limit)}: they will be billed with your next invoice.`;
  if (l.limit > 0 && l.used >= 0.8 * l.limit) return `You have used ${Math.floor((l.used / l.limit) * 100)}% of your ${number.format(l.limit)} ${what} this period, which ends ${day(l.resetsAt)}.`;
  return null;
}
