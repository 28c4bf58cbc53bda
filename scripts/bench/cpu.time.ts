import { readFileSync } from "node:fs";

/**
 * CPU seconds (user + system) of a process or thread so far, from Linux's /proc/<which>/stat:
 * `thread-self` for the calling thread, a pid for another process. NaN where there is no /proc.
 */
export function cpuSecondsOf(which: "thread-self" | number): number {
  try {
    const stat = readFileSync(`/proc/${which}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
