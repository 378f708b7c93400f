/**
 * An invoice as CSV (its lines, then the totals, RFC 4180 like the usage CSV: src/reports/csv.ts)
 * and as a printable HTML page (no script, no external resource; print CSS puts it on A4/Letter).
 */
import { cell } from "../reports/csv";
import type { InvoiceDocument } from "./invoices";

const LINE_COLUMNS = [
  "kind",
  "model",
  "feature",
  "bucket",
  "description",
  "quantity",
  "unit",
  "unitAmountUsd",
  "amountUsd",
] as const;

export function invoiceCsv(doc: InvoiceDocument): string {
  const rows: string[] = [LINE_COLUMNS.join(",")];
  for (const l of doc.lines)
    rows.push(LINE_COLUMNS.map((c) => cell(l[c], typeof l[c] === "string" && c !== "amountUsd")).join(","));
  for (const c of doc.credits)
    rows.push(
      ["credit", "", "", "", cell(`Credit applied: grant ${c.grantId}`, true), "", "", "", `-${c.amountUsd}`].join(","),
    );
  const total = (label: string, usd: string) => ["total", "", "", "", cell(label, true), "", "", "", usd].join(",");
  rows.push(
    total("Subtotal", doc.subtotalUsd),
    total("Credits applied", doc.creditsAppliedUsd),
    total("Amount due", doc.amountDueUsd),
  );
  return `${rows.join("\r\n")}\r\n`;
}

const esc = (s: unknown) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

export function invoiceHtml(doc: InvoiceDocument): string {
  const title = doc.number ? `Invoice ${doc.number}` : `Draft invoice ${doc.tenant} ${doc.period.key}`;
  const lines = doc.lines
    .map(
      (l) =>
        `<tr class="${esc(l.kind)}"><td>${esc(l.description)}</td><td class="n">${esc(l.quantity)} ${esc(l.unit)}</td><td class="n">${esc(l.unitAmountUsd ?? "")}</td><td class="n">$${esc(l.amountUsd)}</td></tr>`,
    )
    .join("");
  const credits = doc.credits
    .map(
      (c) =>
        `<tr><td colspan="3">Credit applied (grant ${esc(c.grantId)})</td><td class="n">−$${esc(c.amountUsd)}</td></tr>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#111;max-width:800px;margin:32px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}.muted{color:#555}table{border-collapse:collapse;width:100%;margin:16px 0}
td,th{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}.n{text-align:right;white-space:nowrap}
tfoot td{border:0;font-weight:600}.status{display:inline-block;padding:2px 8px;border:1px solid #999;border-radius:4px;text-transform:uppercase;font-size:12px}
@media print{body{margin:0}.noprint{display:none}@page{margin:16mm}}
</style></head><body>
<h1>${esc(title)} <span class="status">${esc(doc.status)}</span></h1>
<p class="muted">Tenant <strong>${esc(doc.tenant)}</strong> · period ${esc(doc.period.key)} (${esc(doc.period.timeZone)}: ${esc(doc.period.start)} – ${esc(doc.period.end)}) · plan ${esc(doc.plan.name)} (${esc(doc.plan.kind)}) · ${esc(doc.currency)}</p>
<table><thead><tr><th>Line</th><th class="n">Quantity</th><th class="n">Unit amount</th><th class="n">Amount</th></tr></thead>
<tbody>${lines}</tbody>
<tfoot><tr><td colspan="3">Subtotal</td><td class="n">$${esc(doc.subtotalUsd)}</td></tr>${credits}
<tr><td colspan="3">Credits applied</td><td class="n">−$${esc(doc.creditsAppliedUsd)}</td></tr>
<tr><td colspan="3">Amount due</td><td class="n">$${esc(doc.amountDueUsd)}</td></tr></tfoot></table>
<p class="muted">${doc.records} calls${doc.unratedRecords ? ` (${doc.unratedRecords} not rated)` : ""}. ${doc.finalizedAt ? `Finalized ${esc(doc.finalizedAt)}; hash ${esc(doc.hash)}.` : `A draft: it can be finalized from ${esc(doc.finalizableAt)}.`}${doc.replacesId ? ` Replaces ${esc(doc.replacesId)}.` : ""}${doc.voidedAt ? ` Void since ${esc(doc.voidedAt)}.` : ""}</p>
</body></html>`;
}
