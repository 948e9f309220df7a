import type { JetStreamClient } from 'nats';

export interface Published {
  /** When the first publish went out (performance.now()). */
  t0: number;
  /** When the last one was acknowledged. */
  publishedAt: number;
  errors: number;
}

/**
 * Publishes `count` messages: at full speed with at most `window` unacknowledged, or at a fixed
 * offered `rate` per second. `next(k)` builds the k-th message just before it goes out, so the
 * caller can note its send time.
 */
export async function publishPaced(
  js: JetStreamClient,
  count: number,
  rate: number | null,
  window: number,
  next: (k: number) => { subject: string; body: string; msgId: string },
): Promise<Published> {
  let errors = 0;
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let k = 0; k < count; k++) {
    if (rate !== null) {
      const wait = t0 + (k * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const message = next(k);
    pending.push(
      js.publish(message.subject, message.body, { msgID: message.msgId }).catch(() => {
        errors++;
      }),
    );
    if (pending.length >= window) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { t0, publishedAt: performance.now(), errors };
}
