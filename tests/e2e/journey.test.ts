/**
 * The whole loop in a real browser against `npm run dev` (Stripe double, no keys):
 * sign in, pricing, subscribe, pay on the double's Checkout page, back on the account page
 * `active` with the period, open the portal, cancel at period end, back `canceling`, with
 * this period's usage shown. Each step leaves a screenshot in test-results/e2e/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../dev/token.ts';
import { launchBrowser } from './browser.ts';
import { startDevStack, type DevStack } from './dev-stack.ts';

const OUT = join(import.meta.dirname, '../../test-results/e2e');
/** What dev/start.ts sets when no key is given. */
const DEV_SERVICE_KEY = 'dev-only-service-key-not-for-production';

const day = (d: Date) => d.toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

let stack: DevStack | undefined;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  // The browser first: without chromium there is no point starting the stack.
  browser = await launchBrowser();
  stack = await startDevStack(join(OUT, 'dev.log'));
  page = await browser.context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`${page.url()}: ${msg.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

const shot = (name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });

describe('the billing loop in a browser', () => {
  it('signs in, subscribes, pays, cancels in the portal, and shows state, period and usage', async () => {
    const site = stack!.site;
    const sub = `e2e_${Date.now().toString(36)}`;
    const token = await signDevToken({ sub, email: `${sub}@example.com` });

    // Sign in by pasting a token, as the page tells a developer to.
    await page.goto(`${site}/account.html`);
    await expect.poll(() => page.locator('#signin').isVisible()).toBe(true);
    await expect(page.locator('#signin').innerText()).resolves.toContain('npm run token');
    await page.fill('#token', token);
    await shot('01-sign-in');
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#state[data-state="none"]');
    await expect(page.locator('#who').innerText()).resolves.toContain(sub);
    await expect(page.locator('#summary').innerText()).resolves.toBe('You have no plan yet.');
    // No subscription: usage is shown for the calendar month.
    await expect.poll(() => page.locator('#usage-summary').innerText()).toMatch(/^0 events \(\w{3} 1, \d{4} to \w{3} 1, \d{4}\)\.$/);
    await expect(page.locator('#usage-detail').innerText()).resolves.toContain('showing this calendar month');
    await shot('02-account-no-plan');

    // Pricing: the two plans of the double's catalog.
    await page.click('a[href="/pricing.html"]');
    const plans = page.locator('.plan');
    await expect.poll(() => plans.count()).toBe(2);
    const basic = page.locator('.plan[data-plan="basic"]');
    const pro = page.locator('.plan[data-plan="pro"]');
    await expect(basic.innerText()).resolves.toMatch(/Basic[\s\S]*\$9 \/ month/);
    await expect(pro.innerText()).resolves.toMatch(/Pro[\s\S]*\$29 \/ month/);
    // What the cards say comes from the catalogue (GET plans), not from the page.
    const { plans: catalogue } = (await (await fetch(`${site}/api/stripe/plans`)).json()) as { plans: Array<{ key: string; limits: Record<string, { limit: number }> }> };
    expect(catalogue.find((p) => p.key === 'basic')!.limits.exports!.limit).toBe(10);
    await expect(basic.innerText()).resolves.toMatch(/10,000 events a month included, then billed per use[\s\S]*Up to 10 CSV exports a month/);
    await expect(pro.innerText()).resolves.toContain('Up to 500 CSV exports a month');
    await shot('03-pricing');

    // Subscribe to Pro: the double's Checkout page.
    await pro.locator('button').click();
    await page.waitForURL(`${stack!.stripe}/c/pay/**`);
    await page.waitForSelector('#page:not([hidden])');
    await expect(page.locator('#what').innerText()).resolves.toBe('Subscribe to Pro');
    await expect(page.locator('#amount').innerText()).resolves.toBe('$29.00');
    await expect(page.locator('#per').innerText()).resolves.toBe('per month');
    await expect(page.locator('#email').inputValue()).resolves.toBe(`${sub}@example.com`);
    await expect(page.locator('#back').getAttribute('href')).resolves.toBe(`${site}/pricing.html?canceled=true`);
    await shot('04-checkout');

    // Pay: the double sends the signed webhooks, then returns to the site.
    await page.click('#pay');
    await page.waitForURL(`${site}/account.html?success=true`);
    await page.waitForSelector('#state[data-state="active"]');
    const today = new Date();
    const nextMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, Math.min(today.getUTCDate(), 28)));
    await expect(page.locator('#summary').innerText()).resolves.toBe('Your Pro plan is active.');
    await expect(page.locator('#plan').innerText()).resolves.toBe('Pro');
    await expect(page.locator('#period').innerText()).resolves.toMatch(new RegExp(`^${day(today)} to \\w{3} \\d{1,2}, ${nextMonth.getUTCFullYear()}$`));
    await expect(page.locator('#until-label').innerText()).resolves.toBe('Renews');
    await expect(page.locator('#notice').innerText()).resolves.toContain('subscription is confirmed');
    await expect.poll(() => page.locator('#usage-summary').innerText()).toMatch(/^0 of 100,000 events included/);
    const periodText = await page.locator('#period').innerText();
    const periodEnd = periodText.split(' to ')[1];
    await shot('05-account-active');

    // The analytics service records usage for this account (server to server).
    const recorded = await fetch(`${site}/api/billing/usage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${DEV_SERVICE_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ records: [
        { accountId: `user:${sub}`, quantity: 1200, idempotencyKey: `${sub}-1` },
        { accountId: `user:${sub}`, quantity: 34, idempotencyKey: `${sub}-2` },
        { accountId: `user:${sub}`, quantity: 450, idempotencyKey: `${sub}-3`, feature: 'exports' },
      ] }),
    });
    expect(recorded.status).toBe(200);

    // The portal: cancel at the end of the period.
    await page.click('#portal');
    await page.waitForURL(`${stack!.stripe}/p/session/**`);
    const plan = page.locator('.plan');
    await plan.first().waitFor();
    await expect(plan.innerText()).resolves.toMatch(/Pro[\s\S]*active[\s\S]*\$29\.00 per month[\s\S]*Renews /);
    await expect(page.locator('#who').innerText()).resolves.toBe(`${sub}@example.com`);
    await expect(page.locator('#invoices').innerText()).resolves.toMatch(/\$29\.00\s+paid/);
    await shot('06-portal');
    await page.click('button[data-act="cancel-at-period-end"]');
    await page.waitForSelector('button[data-act="renew"]');
    await expect(page.locator('#notice').innerText()).resolves.toBe(`Your plan will be canceled on ${periodEnd}.`);
    await expect(plan.locator('.status').innerText()).resolves.toBe(`Cancels ${periodEnd}`);
    await shot('07-portal-canceled');

    // Back on the site: canceling, access until the period's end, and the usage.
    await expect(page.locator('#return').innerText()).resolves.toBe(`← Return to ${new URL(site).host}`);
    await page.click('#return');
    await page.waitForURL(`${site}/account.html?portal=return`);
    await page.waitForSelector('#state[data-state="canceling"]');
    await expect(page.locator('#summary').innerText()).resolves.toBe(`Your Pro plan is canceled and ends on ${periodEnd}. You have access until then.`);
    await expect(page.locator('#until-label').innerText()).resolves.toBe('Ends');
    await expect(page.locator('#until').innerText()).resolves.toBe(periodEnd);
    await expect(page.locator('#period').innerText()).resolves.toBe(periodText);
    await expect.poll(() => page.locator('#usage-summary').innerText()).toBe(`1,234 of 100,000 events included (${periodText}).`);
    // The plan's other limit, and a warning near it in a customer's words (nothing about Stripe).
    await expect(page.locator('#limits li[data-feature="exports"]').innerText()).resolves.toBe('450 of 500 CSV exports');
    await expect(page.locator('#limit-warning').innerText()).resolves.toBe(`You have used 90% of your 500 CSV exports this period, which ends ${periodEnd}.`);
    await expect(page.locator('#usage').innerText()).resolves.not.toMatch(/Stripe|reported/);
    await shot('08-account-canceling');

    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('signs in from the printed link; backs out of Checkout; renews and then ends the plan in the portal', async () => {
    const link = /http:\/\/localhost:\d+\/account\.html#token=[\w.-]+/.exec(readFileSync(join(OUT, 'dev.log'), 'utf8'))?.[0];
    expect(link, 'npm run dev printed no sign-in link').toBeDefined();
    const tab = await browser!.context.newPage(); // a new tab: its own sessionStorage, signed out
    tab.on('pageerror', (err) => pageErrors.push(`${tab.url()}: ${err.message}`));
    await tab.goto(link!);
    await tab.waitForSelector('#state[data-state="none"]');
    await expect(tab.locator('#who').innerText()).resolves.toBe('Signed in as user_1 (user_1@example.com).');
    expect(tab.url(), 'the token leaves the address bar').toBe(`${stack!.site}/account.html`);

    // Checkout's back link returns to the pricing page, which says nothing was charged.
    await tab.click('#choose');
    const basic = tab.locator('.plan[data-plan="basic"] button');
    await basic.click();
    await tab.waitForSelector('#page:not([hidden])');
    await expect(tab.locator('#pay').innerText()).resolves.toBe('Pay $9.00');
    await tab.click('#back');
    await tab.waitForURL(`${stack!.site}/pricing.html?canceled=true`);
    await expect(tab.locator('#notice').innerText()).resolves.toBe('Checkout canceled: you have not been charged.');
    // Neutral, not the green of a success.
    await expect(tab.locator('#notice').evaluate((el) => getComputedStyle(el).backgroundColor)).resolves.toBe('rgb(242, 244, 247)');
    await expect(tab.locator('main p.small a[href="/account.html"]').innerText()).resolves.toBe('account page');
    await tab.screenshot({ path: join(OUT, '09-checkout-canceled.png'), fullPage: true });

    // Pay for Basic, then in the portal: cancel, renew, and cancel now.
    await basic.click();
    await tab.waitForSelector('#page:not([hidden])');
    await tab.click('#pay');
    await tab.waitForSelector('#state[data-state="active"]');
    await expect(tab.locator('#plan').innerText()).resolves.toBe('Basic');
    await tab.click('#portal');
    await tab.waitForSelector('button[data-act="cancel-at-period-end"]');
    await tab.click('button[data-act="cancel-at-period-end"]');
    await tab.click('button[data-act="renew"]');
    await tab.waitForSelector('button[data-act="cancel-at-period-end"]');
    await expect(tab.locator('#notice').innerText()).resolves.toBe('Your plan has been renewed.');
    await expect(tab.locator('.plan .status').innerText()).resolves.toMatch(/^Renews /);
    await tab.click('button[data-act="cancel-now"]');
    await tab.waitForSelector('.plan .badge:text-is("canceled")');
    await expect(tab.locator('#notice').innerText()).resolves.toBe('Your plan has been canceled.');
    await expect(tab.locator('.plan button').count()).resolves.toBe(0);
    await tab.screenshot({ path: join(OUT, '10-portal-ended.png'), fullPage: true });
    await tab.click('#return');
    await tab.waitForSelector('#state[data-state="ended"]');
    await expect(tab.locator('#summary').innerText()).resolves.toBe('Your plan has ended.');
    await expect(tab.locator('#choose').isVisible()).resolves.toBe(true);
    await expect(tab.locator('#period').isVisible()).resolves.toBe(false);
    await expect.poll(() => tab.locator('#usage-summary').innerText()).toMatch(/^0 (of [\d,]+ )?events/);
    await tab.screenshot({ path: join(OUT, '11-account-ended.png'), fullPage: true });
    await tab.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('switches plans: subscribes to Basic, previews and confirms an upgrade to Pro, schedules a downgrade and calls it off', async () => {
    const site = stack!.site;
    const tab = await browser!.context.newPage();
    tab.on('pageerror', (err) => pageErrors.push(`${tab.url()}: ${err.message}`));
    const user = `e2e_switch_${Date.now().toString(36)}`;
    await tab.goto(`${site}/account.html#token=${await signDevToken({ sub: user, email: `${user}@example.com` })}`);
    await tab.waitForSelector('#state[data-state="none"]');
    await tab.click('#choose');
    await tab.locator('.plan[data-plan="basic"] button').click();
    await tab.waitForSelector('#page:not([hidden])');
    await tab.click('#pay');
    await tab.waitForSelector('#state[data-state="active"]');
    await expect(tab.locator('#plan').innerText()).resolves.toBe('Basic');

    // The pricing page offers the other plan as a switch, with Stripe's preview first.
    await tab.goto(`${site}/pricing.html`);
    const pro = tab.locator('.plan[data-plan="pro"]');
    await expect.poll(() => pro.locator('button').first().innerText(), { timeout: 15_000 }).toBe('Switch to Pro');
    await expect(tab.locator('.plan[data-plan="basic"] button').innerText()).resolves.toBe('Current plan');
    await pro.locator('button').first().click();
    const upgrade = pro.locator('.confirm');
    await upgrade.waitFor();
    // Right after subscribing: almost all of the month's $20 difference, by the second.
    const charge = /Switch to Pro now: (\$\d+\.\d\d) today for the rest of this period \(your unused time on Basic is credited\)\. Then \$29\.00 on \w{3} \d{1,2}, \d{4}\./.exec(await upgrade.locator('p').innerText());
    expect(charge, await upgrade.locator('p').innerText()).not.toBeNull();
    expect(Number(charge![1]!.slice(1))).toBeGreaterThan(19);
    expect(Number(charge![1]!.slice(1))).toBeLessThanOrEqual(20);
    await expect(upgrade.locator('button.primary').innerText()).resolves.toBe(`Pay ${charge![1]} and switch`);
    await tab.screenshot({ path: join(OUT, '13-switch-preview.png'), fullPage: true });
    await upgrade.locator('button.primary').click();
    await expect.poll(() => tab.locator('#notice').innerText(), { timeout: 15_000 }).toBe('You are now on Pro.');

    // Back to Basic: at the period's end, nothing to pay now.
    const basic = tab.locator('.plan[data-plan="basic"]');
    await expect.poll(() => basic.locator('button').first().innerText(), { timeout: 15_000 }).toBe('Switch to Basic');
    await basic.locator('button').first().click();
    const downgrade = basic.locator('.confirm');
    await downgrade.waitFor();
    const when = /on (\w{3} \d{1,2}, \d{4}): nothing to pay now/.exec(await downgrade.locator('p').innerText())?.[1];
    expect(when, await downgrade.locator('p').innerText()).toBeDefined();
    await expect(downgrade.locator('p').innerText()).resolves.toBe(`Switch to Basic at the end of this period, on ${when}: nothing to pay now, and Pro stays until then. Then $9.00 on ${when}.`);
    await downgrade.locator('button.primary').click();
    await expect.poll(() => tab.locator('#notice').innerText(), { timeout: 15_000 }).toBe(`Your plan changes to Basic on ${when}.`);
    await tab.screenshot({ path: join(OUT, '14-switch-scheduled.png'), fullPage: true });

    // The account page shows the pending change (once Stripe's events are in) and calls it off.
    await tab.goto(`${site}/account.html`);
    await expect.poll(async () => {
      await tab.reload();
      await tab.waitForSelector('#state[data-state="active"]');
      return tab.locator('#pending').isVisible();
    }, { timeout: 15_000, interval: 500 }).toBe(true);
    await expect(tab.locator('#plan').innerText()).resolves.toBe('Pro');
    await expect(tab.locator('#pending span').innerText()).resolves.toBe(`Your plan changes to Basic on ${when}.`);
    await tab.screenshot({ path: join(OUT, '15-account-pending.png'), fullPage: true });
    await tab.click('#keep-plan');
    await expect.poll(() => tab.locator('#notice').innerText(), { timeout: 15_000 }).toBe('Your plan stays as it is: the scheduled change is canceled.');
    await expect.poll(async () => {
      await tab.reload();
      await tab.waitForSelector('#state[data-state="active"]');
      return tab.locator('#pending').isVisible();
    }, { timeout: 15_000, interval: 500 }).toBe(false);
    await expect(tab.locator('#plan').innerText()).resolves.toBe('Pro');
    await tab.close();
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('after sign-in, ?next= never leaves the site', async () => {
    const token = await signDevToken({ sub: `e2e_next_${Date.now().toString(36)}` });
    for (const next of ['/\\evil.example', '/\\/evil.example', '//evil.example', '/\t/evil.example', 'https://evil.example/']) {
      const tab = await browser!.context.newPage();
      await tab.goto(`${stack!.site}/account.html?next=${encodeURIComponent(next)}`);
      await tab.waitForSelector('#signin:not([hidden])');
      await tab.fill('#token', token);
      await tab.click('#signin-form button[type=submit]');
      await tab.waitForSelector('#state[data-state="none"]');
      expect(new URL(tab.url()).origin, JSON.stringify(next)).toBe(stack!.site);
      await tab.close();
    }
  }, 60_000);

  it('tells a customer whose session expired, in plain words, and offers to sign in', async () => {
    const expired = await signDevToken({ sub: 'e2e_expired', expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const tab = await browser!.context.newPage();
    await tab.goto(`${stack!.site}/account.html#token=${expired}`);
    await tab.waitForSelector('#signin:not([hidden])');
    await expect(tab.locator('#error').innerText()).resolves.toBe('Your session has expired. Please sign in again.');
    await tab.screenshot({ path: join(OUT, '12-session-expired.png'), fullPage: true });
    // On the pricing page too: no code, no request id, a link to sign in and come back.
    await tab.evaluate((t) => sessionStorage.setItem('billing-token', t), expired);
    await tab.goto(`${stack!.site}/pricing.html`);
    await tab.waitForSelector('#error:not([hidden])');
    await expect(tab.locator('#error').innerText()).resolves.toBe('Your session has expired. Sign in again.');
    await expect(tab.locator('#error a').getAttribute('href')).resolves.toBe('/account.html?next=%2Fpricing.html');
    await tab.close();
  }, 60_000);
});
