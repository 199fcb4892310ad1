/**
 * Every path under /api/stripe/ and /api/billing/ that no endpoint serves: 404 NOT_FOUND in
 * that path's dialect, with CORS and a request id, instead of the platform's text/plain page
 * (a frontend parsing our JSON would otherwise fail on it). Any method, OPTIONS included:
 * there is nothing to preflight.
 */
import { errorResponse, requestIdOf, type Handler } from '../shared/endpoint.ts';
import { ApiError } from '../shared/errors.ts';

const notFound: Handler = async (req, ctx = {}) =>
  errorResponse(new URL(req.url).pathname, req.headers.get('origin'), requestIdOf(req, ctx), new ApiError('NOT_FOUND', 'No such endpoint'));

export default notFound;
