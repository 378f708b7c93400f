/**
 * Steps 8–10, as one group commit: settle the budget hold, queue the cost record, deliver the
 * alerts the settle crossed.
 *
 * A finished call does not send its settle and record at once. It queues them as plain data at
 * module level (never a client or a promise: those belong to one request), to be sent within
 * GROUP_COMMIT_MS. If another call of this isolate is admitted meanwhile, that call takes the
 * queue and sends it in the same Upstash request as its own admit: the settles run first, so the
 * admit sees the room they free. Under traffic that is one Redis round trip per call instead of
 * two. When no admit comes, the timer one of the queued calls runs sends the queue.
 *
 * The request that sends a commit handles its replies with its own clients: alerts for the
 * crossed thresholds, and the record flush when its SET NX made it the flush's owner. A taken
 * commit needs nothing from the request that queued it. The isolate stays alive while either
 * request's waitUntil runs, and the sender's send is part of its admit, so nothing is dropped
 * when the queuing request ends.
 */
import { alertConfig, alertEvent, deliverEvents } from "../alerts";
import { recordTopUpSeq, settleEvents } from "../billing/events";
import { type SettleInput, settle } from "../budgets";
import type { Config, Env } from "../config";
import { type Db, queryOverHttp } from "../lib/db";
import type { RedisRest } from "../lib/redis-rest";
import { type CostRecord, queueRecord } from "../records/record";

/** How long a finished call waits for an admit to carry its settle and record. */
export const GROUP_COMMIT_MS = 20;
/** Commits one admit carries at most (the rest wait for the next one, or send themselves). */
const MAX_CARRIED = 32;

export interface Commit {
  /** null: the call was never admitted through Redis (FAIL_MODE=open), nothing to settle. */
  settle: SettleInput | null;
  record: CostRecord;
  /** More commands that ride along (a routed call's response-cache entry, src/routing/cache.ts). */
  also?: [string, ...(string | number)[]][];
  taken: boolean;
}

export interface CommitDeps {
  config: Config;
  env: Env;
  rest: RedisRest;
  lazyDb: () => Db;
}

const queue: Commit[] = [];

function take(max: number): Commit[] {
  const out = queue.splice(0, max);
  for (const c of out) c.taken = true;
  return out;
}

/**
 * Issues every command of these commits synchronously (so they join whatever else the caller
 * issues in this tick, e.g. its admit) and resolves when their replies are handled.
 */
export function sendCommits(commits: Commit[], deps: CommitDeps): Promise<void> {
  if (commits.length === 0) return Promise.resolve();
  const tasks: Promise<unknown>[] = [];
  for (const c of commits) {
    if (c.settle) {
      const input = c.settle;
      tasks.push(
        settle(deps.rest, input).then(async (result) => {
          // Budget crossings, and the wallet's (low balance, depletion, a top-up request).
          const events = [...result.crossed.map(alertEvent), ...settleEvents(input, result)];
          if (result.topUp && input.reservation.wallet) {
            await recordTopUpSeq(
              deps.lazyDb(),
              input.reservation.accountId,
              input.reservation.wallet.tenant,
              result.topUp.seq,
            );
          }
          if (events.length)
            await deliverEvents(events, { db: deps.lazyDb, config: alertConfig(deps.config, deps.env) });
        }),
      );
    }
    tasks.push(
      queueRecord(c.record, {
        db: deps.lazyDb,
        redis: deps.rest,
        oneStatement: (statement) => queryOverHttp(deps.config, statement),
      }),
    );
    for (const command of c.also ?? []) tasks.push(deps.rest.exec(command));
  }
  return Promise.allSettled(tasks).then((results) => {
    for (const r of results) if (r.status === "rejected") console.error("after-call step failed", r.reason);
  });
}

/** The queue, for an admit to carry (call it in the same tick as the admit). */
export function carryCommits(deps: CommitDeps): Promise<void> {
  return sendCommits(take(MAX_CARRIED), deps);
}

/** A timer is running that will send what is still queued when it fires. */
let timerRunning = false;

/**
 * Queues a finished call's commit. The first call to find no timer running starts one and, when it
 * fires, sends whatever no admit took (its own commit and later ones). The others return at once:
 * that call's waitUntil keeps the isolate alive until their commits are sent, so one timer per
 * GROUP_COMMIT_MS serves them all.
 */
export async function commit(c: Omit<Commit, "taken">, deps: CommitDeps): Promise<void> {
  queue.push({ ...c, taken: false });
  if (timerRunning) return;
  timerRunning = true;
  try {
    await new Promise((r) => setTimeout(r, GROUP_COMMIT_MS));
  } finally {
    timerRunning = false;
  }
  await sendCommits(take(queue.length), deps);
}
