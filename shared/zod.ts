/**
 * zod for request bodies (checkout, portal, POST usage), as every module here imports it
 * (`import * as z from './zod.ts'`): zod/mini, the same validation and messages as `zod`
 * with a functional API the bundler can trim (full `zod` put 90 KiB into every function's
 * cold start). zod/mini loads no messages by itself: the English ones are set here, once.
 * Re-exported with `export *`: a re-exported namespace object would keep all of zod.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
