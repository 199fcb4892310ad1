/** The demo's sign-in redirect (`account.html?next=`): never off-site, whatever the browser would make of it. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain browser module of the demo site, without declarations
import { sameOriginPath } from '../../public/assets/next-path.js';

const ORIGIN = 'https://shop.example';
const next = (value: string | null) => (sameOriginPath as (n: string | null, o: string) => string | null)(value, ORIGIN);

describe('account.html?next=', () => {
  it('keeps a path on the site, with its query and fragment', () => {
    expect(next('/pricing.html')).toBe('/pricing.html');
    expect(next('/account.html?success=true#usage')).toBe('/account.html?success=true#usage');
  });

  it('refuses everything that would leave the site', () => {
    for (const evil of ['/\\evil.example', '/\\/evil.example', '//evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example',
      'https://evil.example/', 'http:evil.example', 'javascript:alert(1)', ' /\\evil.example', '\\\\evil.example']) {
      expect(next(evil), JSON.stringify(evil)).toBeNull();
    }
    expect(next(null)).toBeNull();
    expect(next('')).toBeNull();
  });
});
