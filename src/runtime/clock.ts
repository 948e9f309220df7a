/**
 * The time of decisions. Every role reads "now" from the pipeline's clock, never from `Date`
 * directly, so a test can run a plan change "on the 15th" or a rollover "at the month
 * boundary" on today's servers. Timers (retries, leases, intervals) keep using real time.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock that reads `startAt` now and then runs at the speed of real time. */
export function clockStartingAt(startAt: string): Clock {
  const offset = Date.parse(startAt) - Date.now();
  if (Number.isNaN(offset)) throw new RangeError(`invalid instant '${startAt}'`);
  return () => new Date(Date.now() + offset);
}

/**
 * An instant read on the real clock (`Date.now()`: BullMQ's delays and job schedulers run on it),
 * placed on `clock`. In production the two are one clock and this returns `realMs` unchanged; a
 * test that runs the pipeline on a clock of its own never compares an instant of one with the
 * other (a rollover job due in real December must not roll a pipeline that lives in November).
 */
export function onClock(clock: Clock, realMs: number): number {
  return realMs + (clock().getTime() - Date.now());
}
