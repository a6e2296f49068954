/**
 * `--pid FILE`: the process id written at start (a stale file from a crash is overwritten) and
 * removed at a clean exit, as the original's init scripts expect.
 */
import { unlinkSync, writeFileSync } from "node:fs";
import { StartupError } from "../errors";

export interface PidFile {
  /** Removes the file; safe to call more than once. */
  remove(): void;
}

export function writePidFile(path: string, pid = process.pid): PidFile {
  try {
    writeFileSync(path, `${pid}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new StartupError(`pid file ${path}: cannot write it (${code})`);
  }
  let removed = false;
  return {
    remove: () => {
      if (removed) return;
      removed = true;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
