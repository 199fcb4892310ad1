/** Stripe-shaped API errors: `{ error: { type, code, message, param, doc_url, request_log_url } }`. */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  request_log_url?: string;
}

export interface ApiErrorOptions {
  headers?: Record<string, string>;
  /**
   * Whether the idempotency layer stores this result. Stripe stores results once an
   * endpoint starts executing, but not when parameters fail validation.
   */
  storeForIdempotency?: boolean;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  readonly headers: Record<string, string>;
  readonly storeForIdempotency: boolean;

  constructor(status: number, body: StripeErrorBody, opts: ApiErrorOptions = {}) {
    super(body.message);
    this.status = status;
    this.body = body;
    this.headers = opts.headers ?? {};
    this.storeForIdempotency = opts.storeForIdempotency ?? true;
  }
}

function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`;
}

function invalid(status: number, message: string, code?: string, param?: string, storeForIdempotency = true): ApiError {
  const body: StripeErrorBody = { type: 'invalid_request_error', message };
  if (code) {
    body.code = code;
    body.doc_url = docUrl(code);
  }
  if (param !== undefined) body.param = param;
  return new ApiError(status, body, { storeForIdempotency });
}

export const errors = {
  /** invoices.createPreview with nothing to bill next (a subscription ending at its period's end, or ended). */
  noUpcomingInvoice(customer: string): ApiError {
    return invalid(404, `No upcoming invoices for customer: ${customer}`, 'invoice_upcoming_none');
  },
  /** A declined payment (payment_behavior=error_if_incomplete): 402 card_error, card_declined. */
  cardDeclined(): ApiError {
    return new ApiError(402, {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
      doc_url: docUrl('card_declined'),
    });
  },
  /** The object the URL names does not exist: 404, `param: 'id'`. */
  notFound(resource: string, id: string): ApiError {
    return invalid(404, `No such ${resource}: '${id}'`, 'resource_missing', 'id');
  },
  /** An object named by a request parameter does not exist: Stripe answers 400 (the request is wrong, not the URL). */
  noSuchParamObject(resource: string, id: string, param: string): ApiError {
    return invalid(400, `No such ${resource}: '${id}'`, 'resource_missing', param);
  },
  missingParam(param: string): ApiError {
    return invalid(400, `Missing required param: ${param}.`, 'parameter_missing', param, false);
  },
  unknownParam(param: string): ApiError {
    return invalid(400, `Received unknown parameter: ${param}`, 'parameter_unknown', param, false);
  },
  invalidInteger(param: string, value: string): ApiError {
    return invalid(400, `Invalid integer: ${value}`, 'parameter_invalid_integer', param, false);
  },
  emptyString(param: string): ApiError {
    return invalid(
      400,
      `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
      'parameter_invalid_empty',
      param,
      false,
    );
  },
  invalidParam(param: string, message: string, code?: string): ApiError {
    return invalid(400, message, code, param, false);
  },
  /** A request that passed validation but cannot be carried out in the current state. */
  badRequest(message: string, param?: string, code?: string): ApiError {
    return invalid(400, message, code, param, true);
  },
  unrecognizedUrl(method: string, path: string): ApiError {
    return invalid(
      404,
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      undefined,
      undefined,
      false,
    );
  },
  noApiKey(): ApiError {
    return new ApiError(401, {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  },
  /** A key the double was not started with; masked the way Stripe masks it (prefix and last 4 only). */
  invalidApiKey(key: string): ApiError {
    const prefix = /^[a-z]{2}_(?:test|live)_/.exec(key)?.[0] ?? '';
    const hidden = Math.max(key.length - prefix.length - 4, 0);
    const masked = `${prefix}${'*'.repeat(hidden)}${key.slice(prefix.length + hidden)}`;
    return new ApiError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${masked}` });
  },
  idempotencyMismatch(key: string): ApiError {
    return new ApiError(
      400,
      {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      },
      { storeForIdempotency: false },
    );
  },
  idempotencyOtherEndpoint(key: string, first: string, now: string): ApiError {
    return new ApiError(
      400,
      {
        type: 'idempotency_error',
        message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${first}' vs '${now}'). Try using a key other than '${key}' if you meant to execute a different request.`,
      },
      { storeForIdempotency: false },
    );
  },
  internal(message = 'An unknown error occurred'): ApiError {
    return new ApiError(500, { type: 'api_error', message }, { storeForIdempotency: false });
  },
};

/** The body of an injected fault with the given status, shaped like Stripe's. */
export function faultError(status: 400 | 402 | 429 | 500 | 503): ApiError {
  switch (status) {
    case 400:
      return invalid(400, 'Injected fault: invalid request.', undefined, undefined, false);
    case 402:
      return new ApiError(
        402,
        {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'generic_decline',
          message: 'Your card was declined.',
          doc_url: docUrl('card_declined'),
        },
        { storeForIdempotency: false },
      );
    case 429:
      return new ApiError(
        429,
        {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
          doc_url: docUrl('rate_limit'),
        },
        { storeForIdempotency: false },
      );
    case 503:
      return new ApiError(503, { type: 'api_error', message: 'The Stripe API is temporarily unavailable.' }, { storeForIdempotency: false });
    default:
      return new ApiError(500, { type: 'api_error', message: 'An unknown error occurred' }, { storeForIdempotency: false });
  }
}
