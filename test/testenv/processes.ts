import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvironmentError } from './errors.js';

/** How to start one server of the environment. */
export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  /** Extra environment variables (secrets go here, never in args: args are visible in `ps`). */
  env?: Record<string, string>;
}

/** A server started by this process. */
export interface StartedServer {
  name: string;
  pid: number;
  logFile: string;
  /** Set once the process has exited (only observable from the process that started it). */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

interface PidRecord {
  pid: number;
  command: string;
}

const pidDir = (stateDir: string) => join(stateDir, 'pids');
export const logFileOf = (stateDir: string, name: string) => join(stateDir, 'logs', `${name}.log`);

/**
 * Starts a server detached from this process (own process group, output to its log file), so it outlives
 * a `testenv:up` CLI, and records its pid in the state dir so that any later process can stop it.
 */
export function startServer(stateDir: string, spec: ServerSpec): StartedServer {
  mkdirSync(pidDir(stateDir), { recursive: true });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const logFile = logFileOf(stateDir, spec.name);
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...spec.env },
    });
    if (child.pid === undefined) throw new TestEnvironmentError(`could not start ${spec.name} (${spec.command})`);
    const started: StartedServer = { name: spec.name, pid: child.pid, logFile };
    child.on('exit', (code, signal) => (started.exit = { code, signal }));
    child.on('error', () => (started.exit ??= { code: null, signal: null }));
    child.unref();
    const record: PidRecord = { pid: child.pid, command: spec.command };
    writeFileSync(join(pidDir(stateDir), `${spec.name}.json`), JSON.stringify(record));
    return started;
  } finally {
    closeSync(out);
  }
}

/** The last `lines` lines of a log file, or a note that it is missing. */
export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log file at ${logFile})`;
  }
}

/** Names of the servers whose pid files are in the state dir and whose process is still alive. */
export function runningServers(stateDir: string): string[] {
  return readPidRecords(stateDir)
    .filter(({ record }) => isOurProcess(record))
    .map(({ name }) => name);
}

/**
 * Stops the servers recorded in the state dir: `order` first (one group after the other: clients of the
 * API server before it, etcd last), then any other recorded ones. SIGTERM, then SIGKILL after `graceMs`.
 */
export async function stopServers(stateDir: string, order: string[][], graceMs = 10_000): Promise<void> {
  const records = readPidRecords(stateDir);
  const named = new Set(order.flat());
  const groups = [[...records.filter((r) => !named.has(r.name))], ...order.map((names) => records.filter((r) => names.includes(r.name)))];
  for (const group of groups) {
    await Promise.all(group.map(({ name, record }) => stopOne(stateDir, name, record, graceMs)));
  }
}

/** Stops only the named servers of the state dir, all at once (the others keep running). */
export async function stopNamedServers(stateDir: string, names: string[], graceMs = 10_000): Promise<void> {
  const records = readPidRecords(stateDir).filter(({ name }) => names.includes(name));
  await Promise.all(records.map(({ name, record }) => stopOne(stateDir, name, record, graceMs)));
}

async function stopOne(stateDir: string, name: string, record: PidRecord, graceMs: number): Promise<void> {
  if (isOurProcess(record)) {
    signalGroup(record.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isOurProcess(record) && Date.now() < deadline) await sleep(50);
    if (isOurProcess(record)) {
      signalGroup(record.pid, 'SIGKILL');
      const killDeadline = Date.now() + 5_000;
      while (isOurProcess(record) && Date.now() < killDeadline) await sleep(50);
      if (isOurProcess(record)) throw new TestEnvironmentError(`${name} (pid ${record.pid}) survived SIGKILL; stop it by hand`);
    }
  }
  rmSync(join(pidDir(stateDir), `${name}.json`), { force: true });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the server is its own process-group leader (spawned detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function readPidRecords(stateDir: string): { name: string; record: PidRecord }[] {
  let files: string[];
  try {
    files = readdirSync(pidDir(stateDir)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((file) => ({
    name: file.slice(0, -'.json'.length),
    record: JSON.parse(readFileSync(join(pidDir(stateDir), file), 'utf8')) as PidRecord,
  }));
}

/**
 * True while the pid is alive (not a zombie) and still runs the command we started, so a recycled pid is
 * never signalled.
 */
function isOurProcess(record: PidRecord): boolean {
  let stat: string;
  let cmdline: string;
  try {
    stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  return cmdline.split('\0')[0] === record.command;
}
