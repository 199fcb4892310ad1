/** Fault injection: the next N matching API calls fail, hang, or lose their connection. */
export interface FaultSpec {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Matched against the request path, e.g. /^\/v1\/customers/ (any when omitted). */
  path?: RegExp;
  /** Status of the Stripe-shaped error answered. */
  status: 500 | 429 | 503 | 402 | 400;
  /** How many matching calls fail (default 1). */
  times?: number;
  /** Wait this long before answering (to trip client timeouts). */
  delayMs?: number;
  /** Destroy the connection instead of answering. */
  reset?: boolean;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

export class Faults {
  private active: ActiveFault[] = [];

  inject(spec: FaultSpec): void {
    this.active.push({ ...spec, remaining: spec.times ?? 1 });
  }

  clear(): void {
    this.active = [];
  }

  /** The fault to apply to this call, if any (using one of its remaining times). */
  take(method: string, path: string): FaultSpec | undefined {
    const fault = this.active.find((f) => (!f.method || f.method.toUpperCase() === method) && (!f.path || f.path.test(path)));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.active = this.active.filter((f) => f !== fault);
    return fault;
  }

  get pending(): number {
    return this.active.reduce((n, f) => n + f.remaining, 0);
  }
}
