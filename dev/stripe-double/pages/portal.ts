/**
 * /p/session/:id, the double's customer portal: the customer's plans and invoices, with
 * cancel at period end, renew (undo that) and cancel now. Each runs the double's action of
 * the same name, which sends the signed webhooks and awaits their delivery, so the site
 * shows the new state as soon as the customer returns.
 *
 * A session made with `flow_data` (a deep link) opens on its one task instead, as Stripe's
 * does, and goes where `after_completion` says once it is done:
 * - payment_method_update: a card form; saving it pays the customer's open invoices (a
 *   past_due subscription becomes active). Card 4000 0000 0000 0002 is declined.
 * - subscription_cancel: confirm, then canceled as the configuration's
 *   `subscription_cancel.mode` says (at the period's end by default, as Stripe's default).
 * - subscription_update_confirm: the change (plan, price, seats; what Stripe's invoice
 *   preview says it costs), confirmed by the double's own subscription update with the
 *   configuration's `proration_behavior`; the page waits for that update's webhooks.
 */
import { hostedPage, scriptLiteral } from './layout.ts';

const BODY = `
<p><a id="return" href="#" hidden>&larr; Return to the site</a></p>
<div id="notice" class="notice" role="status" hidden></div>
<section class="card" id="flow" hidden>
  <h1 id="flow-title"></h1>
  <p class="muted" id="flow-text"></p>
  <div id="flow-body"></div>
  <button class="primary" id="flow-confirm" type="button"></button>
</section>
<div id="page" hidden>
  <h1>Billing</h1>
  <p class="muted" id="who"></p>
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

  function notice(message) {
    $('#notice').textContent = message;
    $('#notice').hidden = false;
  }

  $('#plans').addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-act]');
    if (!button) return;
    const act = button.dataset.act;
    document.querySelectorAll('#plans button').forEach((b) => { b.disabled = true; });
    $('#error').hidden = true;
    try {
      const result = await ACTIONS[act](encodeURIComponent(button.dataset.sub));
      notice(DONE[act](result.subscription));
      await render();
    } catch (err) {
      showError(err);
      document.querySelectorAll('#plans button').forEach((b) => { b.disabled = false; });
    }
  });

  // ---- Deep links (flow_data) ----

  // A /v1 POST with a form body, as stripe-node sends it; answers the body and its Request-Id.
  async function postForm(path, params) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + API_KEY_FOR_FORMS, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((json.error && json.error.message) || ('HTTP ' + res.status));
    return { body: json, requestId: res.headers.get('Request-Id') };
  }

  // A /v1 update sends its webhooks after answering, as Stripe does; the site should show the
  // change when the customer lands back on it, so wait (a few seconds at most) for their delivery.
  async function webhooksDelivered(requestId) {
    const double = await call('GET', '/_double');
    if (!double.webhook) return;
    const events = (await call('GET', '/_double/events')).filter((e) => e.request && e.request.id === requestId).map((e) => e.id);
    for (let i = 0; i < 50 && events.length; i++) {
      const delivered = new Set((await call('GET', '/_double/deliveries')).map((d) => d.eventId));
      if (events.every((id) => delivered.has(id))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function configurationOf(session) {
    // Sessions made without a configuration while the double had none use Stripe's defaults.
    if (session.configuration === 'bpc_double_default') return null;
    return call('GET', '/v1/billing_portal/configurations/' + encodeURIComponent(session.configuration)).catch(() => null);
  }

  const subscription = (id) => call('GET', '/v1/subscriptions/' + encodeURIComponent(id) + '?expand[]=items.data.price.product');
  const priceLine = (price, quantity) => {
    const name = price.product && price.product.name ? price.product.name : price.id;
    const per = price.recurring ? ' / ' + price.recurring.interval : '';
    return '<strong>' + text(name) + '</strong> <span class="muted">' + money(price.unit_amount, price.currency) + per +
      (quantity > 1 ? ' &times; ' + quantity : '') + '</span>';
  };

  const FLOWS = {
    async payment_method_update() {
      const open = await call('GET', '/v1/invoices?status=open&limit=100&customer=' + encodeURIComponent(customerId));
      const due = open.data.reduce((sum, i) => sum + i.amount_remaining, 0);
      return {
        title: 'Add a payment method',
        text: open.data.length ? 'Your unpaid invoices (' + money(due, open.data[0].currency) + ') are paid with the new card.' : 'The new card is used for your future invoices.',
        body: '<label for="card-number">Card number</label><input id="card-number" type="text" value="4242 4242 4242 4242" autocomplete="cc-number">' +
          '<label for="card-expiry">Expiry</label><input id="card-expiry" type="text" value="12 / 34">' +
          '<label for="card-cvc">CVC</label><input id="card-cvc" type="text" value="123">',
        button: 'Add card',
        async confirm() {
          const digits = $('#card-number').value.replace(/\\D/g, '');
          if (digits.length < 12) throw new Error('Your card number is incomplete.');
          if (digits === '4000000000000002') throw new Error('Your card was declined.');
          for (const invoice of open.data) await call('POST', '/_double/invoices/' + encodeURIComponent(invoice.id) + '/pay', {});
          return 'Your payment method has been updated.';
        },
      };
    },

    async subscription_cancel(flow, config) {
      const sub = await subscription(flow.subscription_cancel.subscription);
      const item = sub.items.data[0];
      const now = config && config.features.subscription_cancel.mode === 'immediately';
      return {
        title: 'Cancel your plan',
        text: now ? 'Your plan ends now.' : 'Your plan stays available until the end of your billing period on ' + day(periodEnd(sub)) + '.',
        body: item ? '<div class="row">' + priceLine(item.price, item.quantity) + '</div>' : '',
        button: 'Cancel plan',
        async confirm() {
          const id = encodeURIComponent(sub.id);
          if (now) {
            await call('POST', '/_double/subscriptions/' + id + '/cancel', {});
            return 'Your plan has been canceled.';
          }
          const done = await call('POST', '/_double/subscriptions/' + id + '/schedule-cancel', { atPeriodEnd: true });
          return 'Your plan will be canceled on ' + day(done.subscription.cancel_at || periodEnd(done.subscription)) + '.';
        },
      };
    },

    async subscription_update_confirm(flow, config) {
      const sub = await subscription(flow.subscription_update_confirm.subscription);
      const change = flow.subscription_update_confirm.items[0];
      const item = sub.items.data.find((i) => i.id === change.id);
      const price = change.price
        ? await call('GET', '/v1/prices/' + encodeURIComponent(change.price) + '?expand[]=product')
        : item.price;
      const quantity = change.quantity !== undefined ? change.quantity : item.quantity;
      const proration = (config && config.features.subscription_update.proration_behavior) || 'create_prorations';
      const params = { 'items[0][id]': item.id, 'items[0][price]': price.id, 'items[0][quantity]': String(quantity), proration_behavior: proration };
      // What Stripe's preview says the change costs, when the double can answer it.
      let cost = '';
      try {
        const preview = (await postForm('/v1/invoices/create_preview', {
          customer: customerId, subscription: sub.id, 'subscription_details[proration_behavior]': proration,
          'subscription_details[items][0][id]': item.id, 'subscription_details[items][0][price]': price.id,
          'subscription_details[items][0][quantity]': String(quantity),
        })).body;
        cost = '<div class="row"><span>' + (proration === 'always_invoice' ? 'Due today' : 'Next invoice') + '</span><span id="flow-amount">' +
          money(preview.amount_due, preview.currency) + '</span></div>';
      } catch { /* no preview: the change is still shown */ }
      return {
        title: 'Confirm your plan change',
        text: 'Your plan changes from the first to the second line.',
        body: '<div class="row" id="flow-from">' + priceLine(item.price, item.quantity) + '</div>' +
          '<div class="row" id="flow-to">' + priceLine(price, quantity) + '</div>' + cost,
        button: 'Confirm',
        async confirm() {
          const updated = await postForm('/v1/subscriptions/' + encodeURIComponent(sub.id), params);
          await webhooksDelivered(updated.requestId);
          return 'Your plan has been updated.';
        },
      };
    },
  };

  // After the task: the flow's after_completion (redirect, hosted confirmation, or the portal's home).
  async function completed(session, message) {
    const after = session.flow.after_completion;
    if (after.type === 'redirect') {
      location.assign(after.redirect.return_url);
      return;
    }
    $('#flow').hidden = true;
    notice(after.type === 'hosted_confirmation' && after.hosted_confirmation.custom_message ? after.hosted_confirmation.custom_message : message);
    if (after.type === 'portal_homepage') await render();
  }

  async function runFlow(session) {
    const task = await FLOWS[session.flow.type](session.flow, await configurationOf(session));
    $('#flow-title').textContent = task.title;
    $('#flow-text').textContent = task.text;
    $('#flow-body').innerHTML = task.body;
    $('#flow-confirm').textContent = task.button;
    $('#flow').hidden = false;
    $('#flow-confirm').addEventListener('click', async () => {
      $('#flow-confirm').disabled = true;
      $('#error').hidden = true;
      try {
        await completed(session, await task.confirm());
      } catch (err) {
        showError(err);
        $('#flow-confirm').disabled = false;
      }
    });
  }

  portalSession().then((session) => {
    customerId = session.customer;
    if (session.return_url) {
      $('#return').href = session.return_url;
      $('#return').textContent = '\\u2190 Return to ' + new URL(session.return_url).host;
      $('#return').hidden = false;
    }
    return session.flow ? runFlow(session) : render();
  }).catch(showError);
`;

export function portalPage(sessionId: string, apiKey: string): string {
  const script = SCRIPT.replace('PORTAL_ID', () => scriptLiteral(sessionId)).replace('API_KEY_FOR_FORMS', () => scriptLiteral(apiKey));
  return hostedPage('Customer portal', BODY, script, apiKey);
}
