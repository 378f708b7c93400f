/**
 * Alert channels as an operator manages them, and the delivery log: what the admin API
 * (src/http/admin/alerts.ts) and the dashboard both call. A webhook's signing secret is sealed at
 * rest (AES-GCM, src/lib/crypto.ts) and returned once, by createChannel; without one a random
 * `whsec_…` is made.
 */
import { and, desc, eq } from "drizzle-orm";
import { alertDeliveries } from "../../schema/budgets";
import { alertChannels } from "../../schema/index";
import { requireAccount } from "../accounts";
import { encryptSecret } from "../lib/crypto";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { newId, randomToken } from "../lib/ids";

export type ChannelRow = typeof alertChannels.$inferSelect;
export type DeliveryRow = typeof alertDeliveries.$inferSelect;

export type ChannelInput = { kind: "webhook"; url: string; secret?: string } | { kind: "email"; email: string };

/** `sealing`: the secret that seals stored secrets (src/config.ts sealingSecret). */
export async function createChannel(
  db: Db,
  accountId: string,
  input: ChannelInput,
  sealing: string,
): Promise<{ row: ChannelRow; secret?: string }> {
  await requireAccount(db, accountId);
  const secret = input.kind === "webhook" ? (input.secret ?? `whsec_${randomToken(32)}`) : undefined;
  const [row] = await db
    .insert(alertChannels)
    .values({
      id: newId("alr"),
      accountId,
      kind: input.kind,
      url: input.kind === "webhook" ? input.url : null,
      email: input.kind === "email" ? input.email : null,
      secret: secret ? await encryptSecret(secret, sealing) : null,
    })
    .returning();
  return { row: row!, ...(secret ? { secret } : {}) };
}

export async function listChannels(db: Db, accountId: string): Promise<ChannelRow[]> {
  await requireAccount(db, accountId);
  return db.select().from(alertChannels).where(eq(alertChannels.accountId, accountId)).orderBy(alertChannels.createdAt);
}

export async function deleteChannel(db: Db, accountId: string, alertId: string): Promise<ChannelRow> {
  const [row] = await db
    .delete(alertChannels)
    .where(and(eq(alertChannels.accountId, accountId), eq(alertChannels.id, alertId)))
    .returning();
  if (!row) throw new GatewayError("not_found", `No alert channel ${alertId} in account ${accountId}.`);
  return row;
}

/** Every delivery attempt, newest first. */
export async function listDeliveries(
  db: Db,
  accountId: string,
  opts: { limit: number; budgetId?: string },
): Promise<DeliveryRow[]> {
  await requireAccount(db, accountId);
  return db
    .select()
    .from(alertDeliveries)
    .where(
      opts.budgetId
        ? and(eq(alertDeliveries.accountId, accountId), eq(alertDeliveries.budgetId, opts.budgetId))
        : eq(alertDeliveries.accountId, accountId),
    )
    .orderBy(desc(alertDeliveries.createdAt), desc(alertDeliveries.attempt))
    .limit(opts.limit);
}
