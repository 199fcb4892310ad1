/**
 * zod, as every module here uses it: zod/mini, the same validation and messages as
 * `zod` with a functional API the bundler can trim. Full `zod` cost GET subscription
 * about 18 ms of its cold start (90 KiB to compile and run); zod/mini costs about 4.
 * zod/mini loads no messages by itself: the English ones are set here, once.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());

export { z };
