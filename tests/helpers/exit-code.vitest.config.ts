/** Used by tests/suite-exit-code.test.ts only: the suite's own global setup around one failing test. */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/helpers/exit-code.fixture.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    pool: 'forks',
  },
});
