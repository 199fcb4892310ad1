/**
 * /c/pay/:id, the double's Checkout page. Pay completes the session through the double's
 * own control endpoint (which sends the signed webhooks and awaits their delivery), then
 * goes to the session's success_url, as Stripe does; the back link goes to cancel_url.
 */
import { hostedPage, scriptLiteral } from './layout.ts';

const BODY = `
<p><a id="back" href="#" hidden>&larr; Cancel and return</a></p>
<div class="cols" id="page" hidden>
  <section>
    <p class="muted" id="what">Subscribe</p>
    <div class="amount" id="amount"></div>
    <p class="muted" id="per"></p>
    <div id="lines"></div>
  </section>
  <section class="card">
    <form id="pay-form">
      <label for="email">Email</label>
      <input id="email" type="email" required autocomplete="email">
      <label for="card">Card information</label>
      <input id="card" type="text" value="4242 4242 4242 4242   12 / 34   123" disabled>
      <button class="primary" id="pay" type="submit"></button>
    </form>
  </section>
</div>
<div class="card" id="closed" hidden><h1 id="closed-title"></h1><p><a id="closed-link" href="#"></a></p></div>
`;

const SCRIPT = `
  const sessionId = SESSION_ID;
  // Stripe fills this placeholder in success_url with the session's id.
  const fill = (url) => String(url || '').split('{CHECKOUT_SESSION_ID}').join(sessionId);

  function closed(title, url, label) {
    $('#closed-title').textContent = title;
    $('#closed-link').href = fill(url);
    $('#closed-link').textContent = label;
    $('#closed').hidden = false;
  }

  async function load() {
    const s = await call('GET', '/v1/checkout/sessions/' + encodeURIComponent(sessionId) + '?expand[]=line_items&expand[]=customer');
    if (s.status === 'complete') return closed('This checkout is complete.', s.success_url, 'Continue');
    if (s.status === 'expired') return closed('This checkout session has expired.', s.cancel_url, 'Go back');
    const lines = s.line_items ? s.line_items.data : [];
    const first = lines[0];
    const recurring = first && first.price && first.price.recurring;
    const total = lines.reduce((sum, li) => sum + li.amount_total, 0);
    $('#what').textContent = 'Subscribe to ' + (first ? first.description : 'a plan');
    $('#amount').textContent = money(total, s.currency);
    $('#per').textContent = recurring ? 'per ' + (recurring.interval_count > 1 ? recurring.interval_count + ' ' + recurring.interval + 's' : recurring.interval) : '';
    $('#lines').innerHTML = lines.map((li) =>
      '<div class="row"><span>' + text(li.description) + (li.quantity > 1 ? ' &times; ' + li.quantity : '') + '</span><span>' + money(li.amount_total, li.currency) + '</span></div>').join('');
    const email = (s.customer && s.customer.email) || s.customer_email;
    if (email) { $('#email').value = email; $('#email').disabled = true; }
    $('#pay').textContent = s.amount_total === 0 ? 'Start trial' : 'Pay ' + money(s.amount_total, s.currency);
    if (s.cancel_url) { $('#back').href = s.cancel_url; $('#back').hidden = false; }
    $('#page').hidden = false;
  }

  $('#pay-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('#pay');
    button.disabled = true;
    button.textContent = 'Processing...';
    try {
      const body = {};
      if (!$('#email').disabled && $('#email').value) body.email = $('#email').value;
      const done = await call('POST', '/_double/checkout/sessions/' + encodeURIComponent(sessionId) + '/complete', body);
      location.assign(fill(done.session.success_url));
    } catch (err) {
      showError(err);
      button.disabled = false;
      button.textContent = 'Try again';
    }
  });

  load().catch(showError);
`;

export function checkoutPage(sessionId: string, apiKey: string): string {
  return hostedPage('Checkout', BODY, SCRIPT.replace('SESSION_ID', () => scriptLiteral(sessionId)), apiKey);
}
