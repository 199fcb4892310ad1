var __defProp = Object.defineProperty;
var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

// client/billing-client.ts
var BillingError = class extends Error {
  constructor(init) {
    super(init.message, init.cause === void 0 ? void 0 : { cause: init.cause });
    __publicField(this, "name", "BillingError");
    __publicField(this, "code");
    /** HTTP status; 0 when there was no answer. */
    __publicField(this, "status");
    /** The server's request id (body or X-Request-Id), to quote when reporting a problem. */
    __publicField(this, "requestId");
    /** Seconds to wait before retrying, from Retry-After (429, 503). */
    __publicField(this, "retryAfter");
    /** Field problems of a 400, as the server lists them. */
    __publicField(this, "details");
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.details = init.details;
  }
};
var isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1e3));
}
function errorFrom(body, res) {
  const headerId = res.headers.get("x-request-id");
  const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
  const b = isObject(body) ? body : {};
  const e = isObject(b.error) ? b.error : b;
  const message = typeof e.message === "string" ? e.message : typeof b.error === "string" ? b.error : `Request failed with status ${res.status}`;
  return new BillingError({
    code: typeof e.code === "string" ? e.code : res.status === 429 ? "RATE_LIMITED" : "INTERNAL_ERROR",
    message,
    status: res.status,
    requestId: typeof e.requestId === "string" ? e.requestId : headerId,
    retryAfter,
    details: e.details
  });
}
function locationOrFail(given) {
  const loc = given ?? globalThis.location;
  if (!loc) throw new Error("redirect needs a location: pass one outside a browser");
  return loc;
}
function createBillingClient(options) {
  const base = (options.baseUrl ?? "/api/billing").replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 2e4;
  async function call(method, name, body) {
    const doFetch = options.fetch ?? globalThis.fetch;
    const token = await options.getToken();
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers["Content-Type"] = "application/json";
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let res;
    let text;
    try {
      res = await doFetch(`${base}/${name}`, {
        method,
        headers,
        ...body ? { body: JSON.stringify(body) } : {},
        signal: abort.signal
      });
      text = await res.text();
    } catch (cause) {
      const message = abort.signal.aborted ? `No answer from the billing API within ${timeoutMs} ms` : "Could not reach the billing API";
      throw new BillingError({ code: "NETWORK_ERROR", message, status: 0, cause });
    } finally {
      clearTimeout(timer);
    }
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BillingError({
        code: "INVALID_RESPONSE",
        message: `The billing API answered ${res.status} with something other than JSON`,
        status: res.status,
        requestId: res.headers.get("x-request-id"),
        retryAfter: parseRetryAfter(res.headers.get("retry-after"))
      });
    }
    const envelope = isObject(parsed) && typeof parsed.success === "boolean" ? parsed : null;
    if (!res.ok || envelope?.success === false) throw errorFrom(parsed, res);
    const data = envelope ? envelope.data : parsed;
    if (!isObject(data)) {
      throw new BillingError({ code: "INVALID_RESPONSE", message: "The billing API answered without data", status: res.status, requestId: res.headers.get("x-request-id") });
    }
    return data;
  }
  const createCheckout = (params = {}) => call("POST", "checkout", params);
  const createPortal = (params = {}) => call("POST", "portal", params);
  return {
    getSubscription: () => call("GET", "subscription"),
    getUsage: () => call("GET", "usage"),
    createCheckout,
    createPortal,
    async redirectToCheckout(params, location) {
      const loc = locationOrFail(location);
      loc.assign((await createCheckout(params)).url);
    },
    async redirectToPortal(params, location) {
      const loc = locationOrFail(location);
      loc.assign((await createPortal(params)).url);
    }
  };
}
export {
  BillingError,
  createBillingClient
};
