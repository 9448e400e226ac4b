/** CPU time and resident memory of processes, from /proc (Linux only, as this machine is). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime in ms, or undefined once the process is gone. */
export function cpuMs(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields from its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

export function rssKiB(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

/** CPU ms of a set of processes (Postgres backends) read again later: `delta(pidsNow)` adds new ones whole. */
export function cpuOfSet(pids) {
  const before = new Map(pids.map((pid) => [pid, cpuMs(pid) ?? 0]));
  return {
    delta(pidsNow) {
      let ms = 0;
      let gone = 0;
      for (const pid of new Set([...before.keys(), ...pidsNow])) {
        const now = cpuMs(pid);
        if (now === undefined) gone++;
        else ms += now - (before.get(pid) ?? 0);
      }
      return { ms, gone };
    },
  };
}
