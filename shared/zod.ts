/**
 * zod, as every module here uses it (`import * as z from './zod.ts'`): zod/mini, the same
 * validation and messages as `zod` with a functional API the bundler can trim. Full `zod`
 * cost GET subscription about 18 ms of its cold start (90 KiB to compile and run); zod/mini
 * about 4. zod/mini loads no messages by itself: the English ones are set here, once.
 * Re-exported with `export *` (a re-exported namespace object would keep all of zod in
 * every bundle).
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
