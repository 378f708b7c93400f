/** Column kinds every schema file uses: money as bigint nano-USD, counts as bigint, times with zone. */
import { bigint, timestamp } from "drizzle-orm/pg-core";

export const nano = (name: string) => bigint(name, { mode: "bigint" });
export const count = (name: string) => bigint(name, { mode: "number" });
export const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
