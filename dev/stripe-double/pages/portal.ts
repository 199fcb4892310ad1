/**
 * /p/session/:id, the double's customer portal: the customer's plans and invoices, with
 * cancel at period end, renew (undo that) and cancel now. Each runs the double's action of
 * the same name, which sends the signed webhooks and awaits their delivery, so the site
 * shows the new state as soon as the customer returns.
 */
import { hostedPage, scriptLiteral } from './layout.ts';

const BODY = `
<p><a id="return" href="#" hidden>&larr; Return to the site</a></p>
<div id="page" hidden>
  <h1>Billing</h1>
  <p class="muted" id="who"></p>
  <div id="notice" class="notice" role="status" hidden></div>
  <section class="card"><h2>Current plan</h2><div id="plans"></div></section>
  <section class="card"><h2>Invoice history</h2><div id="invoices"></div></section>
</div>
`;

const SCRIPT = `
  const portalId = PORTAL_ID;
  let customerId = null;

  // The portal session itself has no GET in Stripe's API; its creation event carries it.
  async function portalSession() {
    const events = await call('GET', '/v1/events?type=billing_portal.session.created&limit=100');
    const found = events.data.find((e) => e.data.object.id === portalId);
    if (!found) throw new Error('Unknown portal session ' + portalId + ' (the double keeps them in memory: restarting it forgets them).');
    return found.data.object;
  }

  function periodEnd(sub) {
    const item = sub.items.data[0];
    return item ? item.current_period_end : null;
  }

  function planRow(sub) {
    const item = sub.items.data[0];
    const price = item && item.price;
    const name = price && price.product && price.product.name ? price.product.name : (price ? price.id : 'Plan');
    const per = price && price.recurring ? ' per ' + price.recurring.interval : '';
    let status;
    if (sub.status === 'canceled') status = 'Canceled ' + day(sub.ended_at);
    else if (sub.cancel_at_period_end || sub.cancel_at) status = 'Cancels ' + day(sub.cancel_at || periodEnd(sub));
    else if (sub.status === 'trialing') status = 'Trial ends ' + day(sub.trial_end);
    else if (sub.status === 'past_due') status = 'Payment failed; renews ' + day(periodEnd(sub));
    else status = 'Renews ' + day(periodEnd(sub));
    const live = sub.status !== 'canceled' && sub.status !== 'incomplete_expired';
    const buttons = !live ? '' :
      '<div class="actions">' +
      (sub.cancel_at_period_end
        ? '<button data-act="renew" data-sub="' + text(sub.id) + '">Renew plan</button>'
        : '<button data-act="cancel-at-period-end" data-sub="' + text(sub.id) + '">Cancel plan</button>') +
      '<button class="danger" data-act="cancel-now" data-sub="' + text(sub.id) + '">Cancel immediately</button></div>';
    return '<div class="row plan" data-sub="' + text(sub.id) + '"><div><strong>' + text(name) + '</strong> ' +
      '<span class="badge">' + text(sub.status) + '</span><div class="muted">' + (price ? money(price.unit_amount, price.currency) + per : '') +
      '</div><div class="status">' + text(status) + '</div>' + buttons + '</div></div>';
  }

  async function render() {
    const [customer, subs, invoices] = await Promise.all([
      call('GET', '/v1/customers/' + encodeURIComponent(customerId)),
      call('GET', '/v1/subscriptions?status=all&limit=20&customer=' + encodeURIComponent(customerId) + '&expand[]=data.items.data.price.product'),
      call('GET', '/v1/invoices?limit=10&customer=' + encodeURIComponent(customerId)),
    ]);
    $('#who').textContent = customer.email || customer.id;
    $('#plans').innerHTML = subs.data.length ? subs.data.map(planRow).join('') : '<p class="muted">No plans.</p>';
    $('#invoices').innerHTML = invoices.data.length
      ? '<table>' + invoices.data.map((i) => '<tr><td>' + day(i.created) + '</td><td>' + money(i.total, i.currency) + '</td><td>' + text(i.status) + '</td></tr>').join('') + '</table>'
      : '<p class="muted">No invoices yet.</p>';
    $('#page').hidden = false;
  }

  const ACTIONS = {
    'cancel-at-period-end': (id) => call('POST', '/_double/subscriptions/' + id + '/schedule-cancel', { atPeriodEnd: true }),
    'renew': (id) => call('POST', '/_double/subscriptions/' + id + '/schedule-cancel', { atPeriodEnd: false }),
    'cancel-now': (id) => call('POST', '/_double/subscriptions/' + id + '/cancel', {}),
  };
  const DONE = {
    'cancel-at-period-end': (sub) => 'Your plan will be canceled on ' + day(sub.cancel_at || periodEnd(sub)) + '.',
    'renew': () => 'Your plan has been renewed.',
    'cancel-now': () => 'Your plan has been canceled.',
  };

  $('#plans').addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-act]');
    if (!button) return;
    const act = button.dataset.act;
    document.querySelectorAll('#plans button').forEach((b) => { b.disabled = true; });
    $('#error').hidden = true;
    try {
      const result = await ACTIONS[act](encodeURIComponent(button.dataset.sub));
      $('#notice').textContent = DONE[act](result.subscription);
      $('#notice').hidden = false;
      await render();
    } catch (err) {
      showError(err);
      document.querySelectorAll('#plans button').forEach((b) => { b.disabled = false; });
    }
  });

  portalSession().then((session) => {
    customerId = session.customer;
    if (session.return_url) {
      $('#return').href = session.return_url;
      $('#return').textContent = '\\u2190 Return to ' + new URL(session.return_url).host;
      $('#return').hidden = false;
    }
    return render();
  }).catch(showError);
`;

export function portalPage(sessionId: string, apiKey: string): string {
  return hostedPage('Customer portal', BODY, SCRIPT.replace('PORTAL_ID', () => scriptLiteral(sessionId)), apiKey);
}
