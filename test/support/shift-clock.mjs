// A Node preload (`node --import ./test/support/shift-clock.mjs`, or in NODE_OPTIONS) that moves
// this process's wall clock: `Date.now()` and `new Date()` read OPENSIM_FAKE_NOW when the run
// began, then run at the speed of real time. The date runs (scripts/test-dates.sh) put it in
// NODE_OPTIONS, so vitest, its workers and every `opensim` process a test spawns share one moved
// clock, while the servers (Redis, nats-server, the MongoDB-wire JVM) keep real time.
//
// Why a preload and not libfaketime: libfaketime does not reach Go (nats-server), and it hangs the
// JVM and Chromium unless they are excluded one by one; the preload moves exactly the processes
// whose rules read the date (ours), and nothing else. Timers and performance.now() are untouched.
//
// OPENSIM_FAKE_NOW     the instant the run starts at, ISO 8601 with an offset (2027-03-28T01:59:30+01:00)
// OPENSIM_FAKE_NOW_AT  the real epoch milliseconds at which it was that instant; set once by the
//                      runner so that every process computes the same offset, whenever it starts
//                      (without it, each process starts its own clock at OPENSIM_FAKE_NOW)
const fakeNow = process.env.OPENSIM_FAKE_NOW;
if (fakeNow) {
  const target = Date.parse(fakeNow);
  if (Number.isNaN(target)) throw new RangeError(`OPENSIM_FAKE_NOW: '${fakeNow}' is not an instant`);
  const anchor = Number(process.env.OPENSIM_FAKE_NOW_AT ?? Date.now());
  if (!Number.isFinite(anchor)) throw new RangeError(`OPENSIM_FAKE_NOW_AT: '${process.env.OPENSIM_FAKE_NOW_AT}' is not epoch milliseconds`);
  const offset = target - anchor;
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + offset;
  // A Proxy keeps `instanceof Date`, Date.parse, Date.UTC and the prototype as they are.
  globalThis.Date = new Proxy(RealDate, {
    construct(target_, args, newTarget) {
      return Reflect.construct(target_, args.length === 0 ? [now()] : args, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target_, property, receiver) {
      if (property === 'now') return now;
      return Reflect.get(target_, property, receiver);
    },
  });
}
