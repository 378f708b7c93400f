/**
 * Linux process helpers for the benchmark: CPU time of a process tree from /proc (utime + stime
 * of every live process in the tree, plus cutime + cstime for children already reaped), CPU
 * pinning with taskset, and the machine facts the report prints.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime + cutime + cstime, in ms. */
  cpuMs: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // comm is in parentheses and may contain spaces: split after the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // f[0] = state (field 3); utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14].
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { pid, comm, ppid: Number(f[1]), cpuMs: (ticks * 1000) / CLK_TCK };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The pids of `root` and all its live descendants. */
export function processTree(root: number): number[] {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU ms used so far by the trees rooted at `roots` (live processes + reaped children). */
export function treeCpuMs(roots: readonly number[]): number {
  let total = 0;
  for (const root of roots) for (const pid of processTree(root)) total += readStat(pid)?.cpuMs ?? 0;
  return total;
}

/** Busy CPU ms per core since boot (/proc/stat: everything but idle and iowait; steal included). */
export function coreBusyMs(): number[] {
  const out: number[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, , , irq, softirq, steal] = m[2]!.split(/\s+/).map(Number);
    out[Number(m[1])] =
      (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLK_TCK;
  }
  return out;
}

/** Direct children of `parent` whose command name matches. */
export function childrenNamed(parent: number, comm: RegExp): number[] {
  return allStats()
    .filter((s) => s.ppid === parent && comm.test(s.comm))
    .map((s) => s.pid);
}

let tasksetOk: boolean | undefined;
export function hasTaskset(): boolean {
  if (tasksetOk === undefined) {
    try {
      execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
      tasksetOk = true;
    } catch {
      tasksetOk = false;
    }
  }
  return tasksetOk;
}

/** Pins every thread of `pid` (and what it spawns later) to `cpus` ("0", "1", "0-1"). */
export function pin(pid: number, cpus: string): boolean {
  if (!hasTaskset()) return false;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function machineInfo(): Record<string, string> {
  const cpuModel = os.cpus()[0]?.model?.trim() ?? "unknown";
  let kernel = os.release();
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {}
  return {
    nproc: String(os.cpus().length),
    cpu: cpuModel,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kernel,
    node: process.version,
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

/** The CPUs `pid` may run on (Cpus_allowed_list), e.g. "0" or "0-1". */
export function affinity(pid: number): string {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
  } catch {
    return "?";
  }
}
