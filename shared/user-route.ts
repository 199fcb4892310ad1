/**
 * Routes for signed-in users (Bearer JWT, rate limited). In a module of its own so that only
 * functions with such routes load the JWT code and the rate limiter, and load them with the
 * rest of their code when the instance starts: the webhook never loads them, and no first
 * request waits for them.
 */
import { authenticate, type Principal } from './auth.ts';
import type { CallBase } from './endpoint.ts';
import { checkRateLimit } from './ratelimit.ts';
import { getStore } from './store/index.ts';

export interface UserCall extends CallBase {
  principal: Principal;
}

/**
 * A route for signed-in users. `read` must have no side effects: it runs beside the
 * rate-limit check while the caller has room, so the read and the limiter cost one round
 * trip together (shared/ratelimit.ts). `handle` runs once the limiter has allowed the call,
 * with what `read` returned.
 */
export interface UserRoute<R> {
  auth: 'user';
  authenticate: typeof authenticate;
  limit: typeof checkRateLimit;
  read?(call: UserCall): Promise<R>;
  handle(call: UserCall, read: R): Promise<unknown>;
}

/** Types a user route from its `read` (a plain object literal would lose `R`). */
export const userRoute = <R = undefined>(route: Omit<UserRoute<R>, 'auth' | 'authenticate' | 'limit'>): UserRoute<R> => ({
  auth: 'user',
  authenticate,
  limit: checkRateLimit,
  ...route,
});

/** The `read` of routes that need the caller's account and subscriptions (one query). */
export const readAccount = ({ cfg, principal }: UserCall) => getStore(cfg).getAccount(principal.accountId);
