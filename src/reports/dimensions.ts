/**
 * Attribution dimensions as the usage API names them, and what each one is in every table a report
 * reads: request_records (raw), usage_day_totals, usage_rollups and outcomes.
 */
import { type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { outcomes, usageDayTotals, usageRollups } from "../../schema/reports";

export const DIMENSIONS = [
  "provider",
  "model",
  "feature",
  "tenant",
  "user",
  "env",
  "workflow",
  "key",
  "route",
] as const;
export type NamedDimension = (typeof DIMENSIONS)[number];
/** A named dimension or `tag:<name>`. */
export type Dimension = NamedDimension | `tag:${string}`;

/** A group (or filter) value for "no value": spend with no feature, tenant… is never dropped. */
export const UNALLOCATED = "(unallocated)";

export const TAG_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseDimension(name: string): Dimension | undefined {
  if ((DIMENSIONS as readonly string[]).includes(name)) return name as NamedDimension;
  if (name.startsWith("tag:") && TAG_NAME.test(name.slice(4))) return name as Dimension;
  return undefined;
}

/** The dimensions usage_day_totals keeps; a report grouped or filtered only by these can read it. */
export const DAY_TOTALS_DIMENSIONS: readonly Dimension[] = ["provider", "model", "feature", "tenant", "env", "key"];

export type Source = "raw" | "dayTotals" | "rollups" | "outcomes";

const rr = requestRecords;

/** The SQL expression of a dimension in a source, or undefined when the source does not keep it. */
export function dimensionSql(source: Source, dim: Dimension): SQL | undefined {
  if (dim.startsWith("tag:")) {
    const tag = dim.slice(4);
    if (source === "raw") return sql`(${rr.tags} ->> ${tag})`;
    if (source === "rollups") return sql`(${usageRollups.tags} ->> ${tag})`;
    if (source === "outcomes") return sql`(${outcomes.tags} ->> ${tag})`;
    return undefined;
  }
  const t =
    source === "raw" ? null : source === "dayTotals" ? usageDayTotals : source === "rollups" ? usageRollups : outcomes;
  switch (dim as NamedDimension) {
    case "provider":
      return t ? sql`${t.provider}` : sql`${rr.provider}`;
    case "model":
      return t ? sql`${t.model}` : sql`coalesce(${rr.modelAnswered}, ${rr.modelRequested})`;
    case "feature":
      return t ? sql`${t.feature}` : sql`${rr.feature}`;
    case "tenant":
      return t ? sql`${t.tenant}` : sql`${rr.tenant}`;
    case "env":
      return t ? sql`${t.environment}` : sql`${rr.environment}`;
    case "key":
      return t ? sql`${t.keyId}` : sql`${rr.keyId}`;
    case "user":
      if (t === usageDayTotals) return undefined;
      return t ? sql`${(t as typeof usageRollups).userId}` : sql`${rr.userId}`;
    case "workflow":
      if (t === usageDayTotals) return undefined;
      return t ? sql`${(t as typeof usageRollups).workflow}` : sql`${rr.workflow}`;
    // The route a call went through (src/routing/README.md); a weighted split shows as route × model.
    case "route":
      if (t === usageDayTotals) return undefined;
      return t ? sql`${(t as typeof usageRollups).route}` : sql`${rr.route}`;
  }
}

export interface DimensionFilter {
  dim: Dimension;
  /** Any of these; UNALLOCATED matches "no value". */
  values: string[];
}

/** `expr IN (…) OR expr IS NULL`, for one filter in one source. */
export function filterSql(source: Source, f: DimensionFilter): SQL {
  const expr = dimensionSql(source, f.dim);
  if (!expr) throw new Error(`dimension ${f.dim} is not kept in ${source}`);
  const values = f.values.filter((v) => v !== UNALLOCATED);
  const parts: SQL[] = [];
  if (values.length > 0) {
    parts.push(
      sql`${expr} in (${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )})`,
    );
  }
  if (values.length < f.values.length) parts.push(sql`${expr} is null`);
  return sql`(${sql.join(parts, sql` or `)})`;
}
