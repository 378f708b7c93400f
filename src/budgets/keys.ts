/**
 * The Redis keys of budgets and rate limits. All of an account's keys carry its hash tag
 * (`tg:{acc}:…`), so in a cluster they share one slot and the scripts may build the per-rule keys
 * they discover (from the rules hash) under that prefix; every key a script touches besides
 * those is passed in KEYS.
 *
 *   tg:{acc}:rules:v2                hash   scope field → encoded rules, `__v` = loaded (rules.ts;
 *                                           v2: with the throttle mark — a v1 hash is simply never read)
 *   tg:{acc}:bs:<rule>:<period key>  hash   member → spent nano     (member `_`, or the value of a `*` rule)
 *   tg:{acc}:br:<rule>:<period key>  hash   member → reserved nano  (sum of the live holds)
 *   tg:{acc}:bz:<rule>:<period key>  zset   "<reservation>|<nano>|<member>" scored by expiry ms
 *   tg:{acc}:bq:<rule>:<period key>:<member>  zset  tickets of the calls waiting on this counter, by arrival ms
 *   tg:{acc}:bw:<ticket>             hash   a waiting call: worst case, hold ms, deadline, its key id, its hard rules
 *   tg:{acc}:krev                    set    key ids revoked in the last minutes: no waiter of theirs is handed a hold
 *   tg:{acc}:bk:<ticket>             list   where a settle wakes a waiting call ("ok": its hold is made)
 *   tg:{acc}:ba:<rule>:<period key>:<pct>:<member>   string  alert fired (SET NX), expires with the period
 *   tg:{acc}:bset:<reservation>      string settled marker (idempotent settle)
 *   tg:{acc}:rl:<key>:r:<minute>     string requests in that minute (rate limit window)
 *   tg:{acc}:rl:<key>:t:<minute>     string tokens in that minute
 *   tg:key:<sha256>                  hash   the gateway key + rpm, tpm, lim (written by src/key-copy.ts)
 *
 * Period counters expire COUNTER_GRACE_SECONDS after their period; `total` counters never do.
 */
export const budgetKeys = {
  prefix: (accountId: string) => `tg:{${accountId}}:`,
  rules: (accountId: string) => `tg:{${accountId}}:rules:v2`,
  wake: (accountId: string, ticket: string) => `tg:{${accountId}}:bk:${ticket}`,
  revokedKeys: (accountId: string) => `tg:{${accountId}}:krev`,
  spent: (accountId: string, ruleId: string, periodKey: string) => `tg:{${accountId}}:bs:${ruleId}:${periodKey}`,
  settled: (accountId: string, reservationId: string) => `tg:{${accountId}}:bset:${reservationId}`,
  rateWindow: (accountId: string, keyId: string, kind: "r" | "t", minute: number) =>
    `tg:{${accountId}}:rl:${keyId}:${kind}:${minute}`,
};
