/** The error codes of the API, each with its one HTTP status (the same in both dialects). */
export const STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  /** A plan change whose payment failed or awaits the customer's confirmation: the plan is unchanged. */
  PAYMENT_FAILED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** Checkout for an account that has access: change plans with POST subscription instead. */
  ALREADY_SUBSCRIBED: 409,
  /** A plan change for an account without a subscription to change: checkout instead. */
  NO_SUBSCRIPTION: 409,
  /** The subscription cannot change now (past due, ending, or another change running). */
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof STATUS;

/**
 * An error meant for the caller: its message is safe to show. Anything else that is thrown
 * becomes a 500 "Internal server error" with no detail.
 */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { headers?: Record<string, string>; details?: unknown } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError('BAD_REQUEST', message, { details });

/** Every authentication failure: the same 401 with `WWW-Authenticate: Bearer`. */
export const unauthorized = (message = 'Authentication required') =>
  new ApiError('UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer' } });

/** A dependency (database, Redis) could not be reached: 503, so clients and Stripe retry. */
export class UnavailableError extends Error {
  constructor(readonly dependency: string, options?: { cause?: unknown }) {
    super(`${dependency} unavailable`, options);
    this.name = 'UnavailableError';
  }
}
