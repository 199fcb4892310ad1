/** Fails on purpose: run by tests/suite-exit-code.test.ts, never by the suite itself. */
import { expect, it } from 'vitest';

it('fails on purpose', () => {
  expect('the suite').toBe('a failure');
});
