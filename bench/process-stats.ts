import { readFileSync } from 'node:fs';

/** What the benches read of a server process from /proc (Linux), whatever the load of the machine. */

/**
 * CPU time the process has used so far in user space and in the kernel, in ms; the kernel counts it in ticks of 10 ms.
 * With `thread`, that thread's alone (a process's main thread has the process's id).
 */
export function cpuTimesMs(pid: number, thread?: number): { user: number; system: number } {
  const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
  return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
}

/** CPU time (user + system) the process (or its `thread`) has used so far, in ms. */
export function cpuMs(pid: number, thread?: number): number {
  const { user, system } = cpuTimesMs(pid, thread);
  return user + system;
}

/**
 * A thread's scheduler times so far (Linux `schedstat`), in ms: on a CPU, and runnable but waiting for one. The rest
 * of the wall time it slept (nothing to do, or waiting for the disk).
 */
export function schedTimesMs(pid: number, thread: number): { running: number; waiting: number } {
  const [running, waiting] = readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ').map(Number);
  return { running: running! / 1e6, waiting: waiting! / 1e6 };
}

export function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN);
}
