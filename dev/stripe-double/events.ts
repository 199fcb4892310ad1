/**
 * Events: built from snapshots of objects at the time of the change, stored (for
 * /v1/events), and delivered to the webhook target one by one, in order, through a
 * single queue shared by API calls and test actions.
 */
import type Stripe from 'stripe';
import type { Clock } from './clock.ts';
import { previousAttributes } from './diff.ts';
import { snapshot } from './fixtures.ts';
import { buildEvent, type EventObject, type EventOrigin } from './objects/event.ts';
import type { Store } from './store.ts';
import { postEvent, type DeliveryResult, type PostOptions, type WebhookTarget } from './webhooks.ts';

/** Events produced by one operation (an API call or an action), in order. */
export class Emission {
  readonly events: Stripe.Event[] = [];
  constructor(readonly origin: EventOrigin) {}
}

export const AUTOMATIC: EventOrigin = { requestId: null, idempotencyKey: null };

export class EventBus {
  readonly deliveries: DeliveryResult[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private target: WebhookTarget | null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    target: WebhookTarget | null,
  ) {
    this.target = target;
  }

  setTarget(target: WebhookTarget | null): void {
    this.target = target;
  }

  getTarget(): WebhookTarget | null {
    return this.target;
  }

  /** Records an event about `object` as it is now. */
  emit<T extends EventObject>(em: Emission, type: Stripe.Event.Type, object: T, previous?: Partial<T>): Stripe.Event {
    const event = buildEvent(type, snapshot(object), previous, this.clock.now(), em.origin, this.target ? 1 : 0);
    // The store keeps its own copy (its pending_webhooks drops to 0 once delivered);
    // callers get the event as it was sent.
    this.store.events.set(snapshot(event));
    em.events.push(event);
    return event;
  }

  /** Records `type` (an `*.updated` event) when `object` differs from `before`; returns undefined when nothing changed. */
  emitUpdated<T extends EventObject>(em: Emission, type: Stripe.Event.Type, before: T, object: T): Stripe.Event | undefined {
    const previous = previousAttributes(before, object);
    if (!previous) return undefined;
    return this.emit(em, type, object, previous);
  }

  /**
   * Delivers `events` in order after everything queued before them. Resolves with
   * their delivery results (empty when there is no target or `deliver` is false).
   */
  publish(events: readonly Stripe.Event[], deliver = true): Promise<DeliveryResult[]> {
    const target = this.target;
    if (!deliver || !target || events.length === 0) return Promise.resolve([]);
    const run = this.queue.then(async () => {
      const results: DeliveryResult[] = [];
      for (const event of events) results.push(await this.deliverNow(event, target));
      return results;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Delivers one event right away (outside the queue): for redelivery in any order. */
  async deliver(event: Stripe.Event, opts: PostOptions & { target?: WebhookTarget } = {}): Promise<DeliveryResult> {
    const target = opts.target ?? this.target;
    if (!target) throw new Error('No webhook target: pass opts.target or call setWebhook() first');
    return this.deliverNow(event, target, opts);
  }

  /** Resolves once every queued delivery has been attempted. */
  async idle(): Promise<void> {
    let current: Promise<unknown>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  private async deliverNow(event: Stripe.Event, target: WebhookTarget, opts: PostOptions = {}): Promise<DeliveryResult> {
    const result = await postEvent(target, event, opts);
    this.deliveries.push(result);
    const stored = this.store.events.get(event.id);
    if (stored && result.status >= 200 && result.status < 300) stored.pending_webhooks = 0;
    return result;
  }
}
