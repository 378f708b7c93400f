/**
 * The date guard (vitest setupFiles, both projects). With TOLLGATE_TEST_CLOCK_OFFSET_MS set, every
 * test file runs with its clock shifted by that offset: `Date.now()`, `new Date()` and `Date()` in
 * the test process, and (test/setup/global.ts passes the same offset as a binding) the Worker's
 * clock, src/lib/clock.ts. Redis, Postgres and the provider double keep the real time. `.ci/run`
 * runs the suite at offsets months forward and back: a test or a code path that only passes when
 * the Worker's idea of "now" matches Redis's or Postgres's — or today's date — fails there.
 */
import { CLOCK_OFFSET_BINDING } from "../../src/lib/clock";

const offsetMs = Number(process.env[CLOCK_OFFSET_BINDING] ?? 0);
if (!Number.isSafeInteger(offsetMs)) throw new Error(`${CLOCK_OFFSET_BINDING} must be an integer (ms)`);

if (offsetMs !== 0 && !(globalThis.Date as { shiftedBy?: number }).shiftedBy) {
  const RealDate = globalThis.Date;
  const now = () => RealDate.now() + offsetMs;
  // A Proxy keeps Date's prototype, statics and `instanceof`; only "now" moves.
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return args.length === 0
        ? Reflect.construct(target, [now()], newTarget)
        : Reflect.construct(target, args, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, prop, receiver) {
      if (prop === "now") return now;
      if (prop === "shiftedBy") return offsetMs;
      return Reflect.get(target, prop, receiver);
    },
  });
}
