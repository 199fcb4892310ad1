/** The double's portal deep links: `flow_data` on POST /v1/billing_portal/sessions, checked as Stripe checks it. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { launchBrowser } from '../e2e/browser.ts';
import { setup, stripeError, subscribe } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());

const back = { type: 'redirect' as const, redirect: { return_url: 'https://app.example.com/billing' } };

describe('billing portal sessions with flow_data', () => {
  it('answers each flow on the session, every other flow hash null', async () => {
    const { subscription: sub } = await subscribe(double, stripe);
    const customer = sub.customer as string;
    const item = sub.items.data[0]!;

    const pay = await stripe.billingPortal.sessions.create({ customer, flow_data: { type: 'payment_method_update' } });
    expect(pay.flow).toEqual({
      type: 'payment_method_update',
      after_completion: { type: 'portal_homepage', redirect: null, hosted_confirmation: null },
      customer_update: null, subscription_cancel: null, subscription_pause: null, subscription_update: null, subscription_update_confirm: null,
    });

    const cancel = await stripe.billingPortal.sessions.create({ customer, flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: sub.id }, after_completion: back } });
    expect(cancel.flow).toMatchObject({ type: 'subscription_cancel', subscription_cancel: { subscription: sub.id, retention: null }, after_completion: back, subscription_update_confirm: null });

    const confirm = await stripe.billingPortal.sessions.create({
      customer,
      flow_data: {
        type: 'subscription_update_confirm',
        subscription_update_confirm: { subscription: sub.id, items: [{ id: item.id, price: 'price_pro_monthly', quantity: 2 }] },
        after_completion: { type: 'hosted_confirmation', hosted_confirmation: { custom_message: 'Welcome to Pro' } },
      },
    });
    expect(confirm.flow).toMatchObject({
      type: 'subscription_update_confirm',
      subscription_update_confirm: { subscription: sub.id, items: [{ id: item.id, price: 'price_pro_monthly', quantity: 2 }], discounts: [] },
      after_completion: { type: 'hosted_confirmation', hosted_confirmation: { custom_message: 'Welcome to Pro' }, redirect: null },
    });
    // The page reads the session from its creation event.
    const created = double.state.events.find((e) => e.type === 'billing_portal.session.created' && (e.data.object as { id: string }).id === confirm.id);
    expect((created?.data.object as Stripe.BillingPortal.Session).flow?.type).toBe('subscription_update_confirm');
  });

  it('refuses what Stripe refuses', async () => {
    const { subscription: sub } = await subscribe(double, stripe);
    const { subscription: other } = await subscribe(double, stripe);
    const customer = sub.customer as string;
    const item = sub.items.data[0]!;
    const create = (flow_data: Stripe.BillingPortal.SessionCreateParams.FlowData) => stripeError(stripe.billingPortal.sessions.create({ customer, flow_data }));
    const confirm = (c: Partial<Stripe.BillingPortal.SessionCreateParams.FlowData.SubscriptionUpdateConfirm>) =>
      create({ type: 'subscription_update_confirm', subscription_update_confirm: { subscription: sub.id, items: [], ...c } });

    expect(await create({ type: 'subscription_cancel' })).toMatchObject({ code: 'parameter_missing', param: 'flow_data[subscription_cancel]' });
    expect(await create({ type: 'subscription_cancel', subscription_cancel: { subscription: 'sub_nope' } }))
      .toMatchObject({ code: 'resource_missing', param: 'flow_data[subscription_cancel][subscription]' });
    const notTheirs = await create({ type: 'subscription_cancel', subscription_cancel: { subscription: other.id } });
    expect(notTheirs.message).toContain('does not belong to the customer');
    expect(await create({ type: 'payment_method_update', subscription_cancel: { subscription: sub.id } })).toMatchObject({ param: 'flow_data[subscription_cancel]' });
    expect(await create({ type: 'payment_method_update', after_completion: { type: 'redirect' } }))
      .toMatchObject({ code: 'parameter_missing', param: 'flow_data[after_completion][redirect]' });
    expect(await create({ type: 'bogus' })).toMatchObject({ param: 'flow_data[type]' });
    expect((await create({ type: 'subscription_update', subscription_update: { subscription: sub.id } })).message).toContain('does not support');

    expect(await stripeError(stripe.billingPortal.sessions.create({ customer, flow_data: { type: 'subscription_update_confirm', subscription_update_confirm: { subscription: sub.id } } as never })))
      .toMatchObject({ code: 'parameter_missing', param: 'flow_data[subscription_update_confirm][items]' });
    expect(await confirm({ items: [] })).toMatchObject({ param: 'flow_data[subscription_update_confirm][items]' });
    expect(await confirm({ items: [{ id: item.id, price: 'price_pro_monthly' }, { id: item.id, price: 'price_pro_monthly' }] })).toMatchObject({ param: 'flow_data[subscription_update_confirm][items]' });
    expect(await confirm({ items: [{ id: other.items.data[0]!.id, price: 'price_pro_monthly' }] })).toMatchObject({ param: 'flow_data[subscription_update_confirm][items][0][id]' });
    expect(await confirm({ items: [{ id: item.id, price: 'price_nope' }] })).toMatchObject({ code: 'resource_missing', param: 'flow_data[subscription_update_confirm][items][0][price]' });
    expect(await confirm({ items: [{ id: item.id }] })).toMatchObject({ code: 'parameter_missing' });

    await double.actions.scheduleCancel(sub.id);
    expect((await create({ type: 'subscription_cancel', subscription_cancel: { subscription: sub.id } })).message).toContain('already set to be canceled');
    await double.actions.cancelNow(other.id);
    const ended = await stripeError(stripe.billingPortal.sessions.create({ customer: other.customer as string, flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: other.id } } }));
    expect(ended.message).toContain('has ended');
  });

  it('follows the portal configuration: a disabled feature, a price it does not offer', async () => {
    const { subscription: sub } = await subscribe(double, stripe);
    const customer = sub.customer as string;
    const item = sub.items.data[0]!;
    const config = await stripe.billingPortal.configurations.create({
      features: {
        subscription_cancel: { enabled: false },
        subscription_update: { enabled: true, default_allowed_updates: ['price'], products: [{ product: 'basic', prices: ['price_basic_monthly'] }] },
      },
    });
    const cancel = await stripeError(stripe.billingPortal.sessions.create({ customer, configuration: config.id, flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: sub.id } } }));
    expect(cancel.message).toContain('features.subscription_cancel');
    const pro = await stripeError(stripe.billingPortal.sessions.create({
      customer,
      configuration: config.id,
      flow_data: { type: 'subscription_update_confirm', subscription_update_confirm: { subscription: sub.id, items: [{ id: item.id, price: 'price_pro_monthly' }] } },
    }));
    expect(pro).toMatchObject({ param: 'flow_data[subscription_update_confirm][items][0][price]' });
    expect(pro.message).toContain('features.subscription_update.products');
    const seats = await stripe.billingPortal.sessions.create({
      customer,
      configuration: config.id,
      flow_data: { type: 'subscription_update_confirm', subscription_update_confirm: { subscription: sub.id, items: [{ id: item.id, quantity: 3 }] } },
    });
    expect(seats.configuration).toBe(config.id);
  });

  it('its page: a hosted confirmation shows the custom message; portal_homepage goes on to the portal; mode immediately cancels now', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const { subscription: sub } = await subscribe(double, stripe);
      const customer = sub.customer as string;

      // The configuration made in the previous test is the default: it may cancel immediately.
      const config = (await stripe.billingPortal.configurations.list({ is_default: true })).data[0]!;
      await stripe.billingPortal.configurations.update(config.id, { features: { subscription_cancel: { enabled: true, mode: 'immediately' } } });
      const cancel = await stripe.billingPortal.sessions.create({
        customer,
        flow_data: { type: 'subscription_cancel', subscription_cancel: { subscription: sub.id }, after_completion: { type: 'hosted_confirmation', hosted_confirmation: { custom_message: 'Sorry to see you go.' } } },
      });
      await page.goto(cancel.url);
      await page.waitForSelector('#flow:not([hidden])');
      expect(await page.locator('#flow-text').innerText()).toBe('Your plan ends now.');
      await page.click('#flow-confirm');
      await expect.poll(() => page.locator('#notice').innerText()).toBe('Sorry to see you go.');
      expect(await page.locator('#flow').isHidden()).toBe(true);
      expect(double.state.subscriptions.get(sub.id)?.status).toBe('canceled');

      await stripe.billingPortal.configurations.update(config.id, { features: { payment_method_update: { enabled: true } } });
      const pay = await stripe.billingPortal.sessions.create({ customer, flow_data: { type: 'payment_method_update' } });
      await page.goto(pay.url);
      await page.waitForSelector('#flow:not([hidden])');
      await page.click('#flow-confirm');
      await page.waitForSelector('#page:not([hidden]) .plan');
      expect(await page.locator('#notice').innerText()).toBe('Your payment method has been updated.');
    } finally {
      await browser.close();
    }
  }, 60_000);
});
