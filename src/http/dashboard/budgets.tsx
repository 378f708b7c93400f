/**
 * Budgets: every rule with spent + reserved (calls in flight) against its cap, the period and when
 * it resets; create, change, delete (admin sessions). The rules and their counters are
 * src/budgets/manage.ts; a form is read with the same zod schemas as the admin API's JSON
 * (src/http/budget-schemas.ts), so both accept and refuse the same things.
 */
import { createRule, deleteRule, listRuleRows, type RuleInput, updateRule, withStatus } from "../../budgets";
import { usdToNano } from "../../lib/money";
import { redisClient } from "../../lib/redis";
import { BudgetCreateBody, type BudgetJsonT, BudgetPatchBody, ruleJson } from "../budget-schemas";
import { Usd } from "./chart";
import { Notices } from "./components";
import type { DashContext, View } from "./env";
import { PageError } from "./env";
import { formatCount } from "./format";
import { AccountField, Csrf, Page, Time, viewParams } from "./layout";
import { href } from "./state";

const scopeLabel = (b: BudgetJsonT) =>
  b.scope.type === "account"
    ? "the whole account"
    : b.scope.id === "*"
      ? `each ${b.scope.type}`
      : `${b.scope.type} ${b.scope.id}`;

/** spent (solid) and reserved (lighter) as parts of the cap. */
function Bar(props: { b: BudgetJsonT }) {
  const cap = Number(usdToNano(props.b.capUsd));
  const width = (usd: string) => Math.min(160, (Number(usdToNano(usd)) / (cap || 1)) * 160);
  const spent = width(props.b.spentUsd);
  const reserved = Math.min(160 - spent, width(props.b.reservedUsd));
  return (
    <svg
      viewBox="0 0 160 10"
      class="bar"
      role="img"
      aria-label={`${props.b.spentUsd} spent and ${props.b.reservedUsd} reserved of ${props.b.capUsd} USD`}
    >
      <rect width="160" height="10" fill="#e8eaee" />
      <rect width={spent} height="10" fill="#2563eb" />
      <rect x={spent} width={reserved} height="10" fill="#f59e0b" />
    </svg>
  );
}

export function BudgetsTable(props: { view: View; budgets: BudgetJsonT[]; tz: string; api: string }) {
  const { view } = props;
  return (
    <div class="panel scroll">
      <table class="data budgets" data-api={props.api}>
        <caption>Spent and reserved this period (USD). Reserved = the worst case held by calls in flight.</caption>
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Period</th>
            <th scope="col">Resets</th>
            <th scope="col" class="num">
              Cap
            </th>
            <th scope="col" class="num">
              Spent
            </th>
            <th scope="col" class="num">
              Reserved
            </th>
            <th scope="col" class="num">
              Remaining
            </th>
            <th scope="col">Used</th>
            <th scope="col">Mode</th>
            <th scope="col">Alerts at</th>
            <th scope="col">Throttle at</th>
            {view.readOnly ? null : <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {props.budgets.map((b) => (
            <tr data-budget={b.id}>
              <th scope="row">{scopeLabel(b)}</th>
              <td>
                {b.period} <span class="muted small">{b.periodKey}</span>
              </td>
              <td>{b.periodEnd ? <Time ms={Date.parse(b.periodEnd)} tz={props.tz} /> : "never"}</td>
              <Usd nano={usdToNano(b.capUsd)} field="capUsd" />
              <Usd nano={usdToNano(b.spentUsd)} field="spentUsd" />
              <Usd nano={usdToNano(b.reservedUsd)} field="reservedUsd" />
              <Usd nano={usdToNano(b.remainingUsd)} field="remainingUsd" />
              <td>
                <Bar b={b} />
              </td>
              <td>{b.mode}</td>
              <td>{b.alertAt.map((a) => `${a} %`).join(", ")}</td>
              <td>{b.throttleAt ? `${b.throttleAt} %` : "–"}</td>
              {view.readOnly ? null : (
                <td>
                  <details>
                    <summary>Edit</summary>
                    <form method="post" action={`/dashboard/budgets/${b.id}`}>
                      <Csrf view={view} />
                      <AccountField view={view} />
                      <fieldset>
                        <label>
                          Cap (USD)
                          <input name="capUsd" value={b.capUsd} size={8} />
                        </label>
                        <PeriodSelect value={b.period} />
                        <ModeSelect value={b.mode} />
                        <label>
                          Alerts at (%)
                          <input name="alertAt" value={b.alertAt.join(",")} size={8} />
                        </label>
                        <label>
                          Throttle at (%, empty: never)
                          <input name="throttleAt" value={b.throttleAt ?? ""} size={4} />
                        </label>
                        <button type="submit" class="primary">
                          Save
                        </button>
                      </fieldset>
                    </form>
                  </details>
                  <form method="post" action={`/dashboard/budgets/${b.id}/delete`} data-confirm="Delete this budget?">
                    <Csrf view={view} />
                    <AccountField view={view} />
                    <button type="submit" class="danger">
                      Delete
                    </button>
                  </form>
                </td>
              )}
            </tr>
          ))}
          {props.budgets.length === 0 ? (
            <tr>
              <td colspan={12} class="muted">
                No budgets yet.{view.readOnly ? "" : " Add one below: a cap per tenant is the usual first one."}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {props.budgets
        .filter((b) => b.members?.length)
        .map((b) => (
          <details>
            <summary>{`${scopeLabel(b)}: ${formatCount(b.membersCount ?? 0)} with spend this period`}</summary>
            <table class="data members" data-budget={b.id}>
              <thead>
                <tr>
                  <th scope="col">{b.scope.type}</th>
                  <th scope="col" class="num">
                    Spent
                  </th>
                  <th scope="col" class="num">
                    Reserved
                  </th>
                  <th scope="col" class="num">
                    Remaining
                  </th>
                </tr>
              </thead>
              <tbody>
                {b.members!.map((m) => (
                  <tr data-member={m.id}>
                    <th scope="row">{m.id}</th>
                    <Usd nano={usdToNano(m.spentUsd)} field="spentUsd" />
                    <Usd nano={usdToNano(m.reservedUsd)} field="reservedUsd" />
                    <Usd nano={usdToNano(m.remainingUsd)} field="remainingUsd" />
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        ))}
    </div>
  );
}

const PERIOD_NAMES = ["day", "week", "month", "total"];
function PeriodSelect(props: { value?: string }) {
  return (
    <label>
      Period
      <select name="period">
        {PERIOD_NAMES.map((p) => (
          <option value={p} {...(p === (props.value ?? "month") ? { selected: true } : {})}>
            {p}
          </option>
        ))}
      </select>
    </label>
  );
}
function ModeSelect(props: { value?: string }) {
  return (
    <label>
      Mode
      <select name="mode">
        {["hard", "soft"].map((m) => (
          <option value={m} {...(m === (props.value ?? "hard") ? { selected: true } : {})}>
            {m === "hard" ? "hard (refuse)" : "soft (alert only)"}
          </option>
        ))}
      </select>
    </label>
  );
}

function CreateForm(props: { view: View }) {
  return (
    <form method="post" action="/dashboard/budgets" class="panel" aria-label="New budget">
      <h2>New budget</h2>
      <Csrf view={props.view} />
      <AccountField view={props.view} />
      <fieldset>
        <label>
          Scope
          <select name="scopeType">
            {["account", "tenant", "feature", "key", "user", "env", "workflow"].map((t) => (
              <option value={t} {...(t === "tenant" ? { selected: true } : {})}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id (* = each one)
          <input name="scopeId" value="*" size={10} />
        </label>
        <PeriodSelect />
        <label>
          Cap (USD)
          <input name="capUsd" placeholder="5.00" size={8} required />
        </label>
        <ModeSelect />
        <label>
          Alerts at (%)
          <input name="alertAt" value="50,80,100" size={8} />
        </label>
        <label>
          Throttle at (%)
          <input name="throttleAt" size={4} placeholder="never" />
        </label>
        <button type="submit" class="primary">
          Create
        </button>
      </fieldset>
    </form>
  );
}

async function budgetsOf(c: DashContext): Promise<BudgetJsonT[]> {
  const rows = await listRuleRows(c.var.db, c.var.view.accountId);
  return (await withStatus(redisClient(c.var.config), rows)).map(ruleJson);
}

export async function budgetsPage(c: DashContext, opts: { error?: string; flash?: string; tz: string }) {
  const view = c.var.view;
  const budgets = await budgetsOf(c);
  return c.html(
    <Page title="Budgets" view={view} section="budgets" tz={opts.tz} tzSource="url">
      <h1>Budgets</h1>
      <Notices flash={opts.flash} error={opts.error} />
      <p class="small muted">
        Same numbers as <code>GET /admin/v1/accounts/{view.accountId}/budgets</code> (
        <a href={href("/dashboard/budgets.csv", viewParams(view))}>CSV</a>). Periods are UTC calendar periods; reset
        times are shown in {opts.tz}.
      </p>
      <BudgetsTable view={view} budgets={budgets} tz={opts.tz} api={`/admin/v1/accounts/${view.accountId}/budgets`} />
      {view.readOnly ? null : <CreateForm view={view} />}
    </Page>,
    opts.error ? 400 : 200,
  );
}

export async function budgetsCsv(c: DashContext): Promise<BudgetJsonT[]> {
  return budgetsOf(c);
}

const form = async (c: DashContext) => {
  const f = await c.req.parseBody();
  const s = (k: string) => (typeof f[k] === "string" ? (f[k] as string).trim() : "");
  return s;
};

const alertList = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);

const issuesText = (issues: { path: PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${i.path.map(String).join(".") || "form"}: ${i.message}`).join("; ");

const stores = (c: DashContext) => ({ db: c.var.db, redis: redisClient(c.var.config) });

export async function createBudget(c: DashContext, tz: string) {
  const s = await form(c);
  const type = s("scopeType");
  const parsed = BudgetCreateBody.safeParse({
    scope: type === "account" ? { type } : { type, id: s("scopeId") || undefined },
    period: s("period"),
    capUsd: s("capUsd"),
    mode: s("mode") || undefined,
    alertAt: s("alertAt") ? alertList(s("alertAt")) : undefined,
    throttleAt: s("throttleAt") ? Number(s("throttleAt")) : undefined,
  });
  if (!parsed.success) return budgetsPage(c, { error: issuesText(parsed.error.issues), tz });
  const { capUsd, ...rule } = parsed.data;
  await createRule(stores(c), c.var.view.accountId, { ...rule, capNano: capUsd } as RuleInput);
  return c.redirect(href("/dashboard/budgets", viewParams(c.var.view), { done: "created" }), 303);
}

export async function updateBudget(c: DashContext, budgetId: string, tz: string) {
  const s = await form(c);
  const parsed = BudgetPatchBody.safeParse({
    period: s("period") || undefined,
    capUsd: s("capUsd") || undefined,
    mode: s("mode") || undefined,
    alertAt: s("alertAt") ? alertList(s("alertAt")) : undefined,
    // The edit form always sends the field: empty turns throttling off.
    throttleAt: s("throttleAt") ? Number(s("throttleAt")) : null,
  });
  if (!parsed.success) return budgetsPage(c, { error: issuesText(parsed.error.issues), tz });
  const { capUsd, ...patch } = parsed.data;
  await updateRule(stores(c), c.var.view.accountId, budgetId, {
    ...patch,
    ...(capUsd !== undefined ? { capNano: capUsd } : {}),
  });
  return c.redirect(href("/dashboard/budgets", viewParams(c.var.view), { done: "saved" }), 303);
}

export async function removeBudget(c: DashContext, budgetId: string) {
  if (!budgetId) throw new PageError(404, "No such budget.");
  await deleteRule(stores(c), c.var.view.accountId, budgetId);
  return c.redirect(href("/dashboard/budgets", viewParams(c.var.view), { done: "deleted" }), 303);
}
