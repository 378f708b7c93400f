/**
 * The Worker's clock: every time the gateway reads goes through here, so one offset moves all of
 * it. Production never sets the offset. The tests' date guard (test/setup/clock.ts) runs the whole
 * suite with the test process and the Worker shifted by the same offset — months forward and back —
 * while Redis and Postgres keep the real time, which proves nothing depends on the two clocks
 * agreeing (scripts get lifetimes, not instants; Postgres-side watermarks use Postgres's clock).
 */
let offsetMs = 0;

/** The binding that shifts the Worker's clock (tests only; production leaves it unset). */
export const CLOCK_OFFSET_BINDING = "TOLLGATE_TEST_CLOCK_OFFSET_MS";

/** Applied once per isolate from its env (the same value for every request). */
export function applyClockOffset(env: Record<string, unknown>): void {
  const raw = env[CLOCK_OFFSET_BINDING];
  const ms = typeof raw === "string" || typeof raw === "number" ? Number(raw) : 0;
  offsetMs = Number.isSafeInteger(ms) ? ms : 0;
}

/** Milliseconds since the epoch, by the gateway's clock. */
export function nowMs(): number {
  return Date.now() + offsetMs;
}

/** The same instant as a Date. */
export function nowDate(): Date {
  return new Date(nowMs());
}
