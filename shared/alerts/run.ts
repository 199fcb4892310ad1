/** The alert sender as the schedules and POST usage run it (deliver.ts). */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { deliverUsageAlertsSafely, type DeliveryResult } from './deliver.ts';

/** Each POST to the app's URL gives up after this long (the alert is re-sent later). */
const SEND_TIMEOUT_MS = 5_000;

export const runUsageAlerts = (cfg: Config, log: Logger, timeBudgetMs: number): Promise<DeliveryResult | null> =>
  deliverUsageAlertsSafely(cfg, log, { timeBudgetMs, timeoutMs: SEND_TIMEOUT_MS });
