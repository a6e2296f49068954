#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The executable: runs the command line (src/cli/run.ts) and exits with its code. The only file
 * that calls process.exit.
 */
import { runCli } from "./cli/run";

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  exitNow: (code: number): never => process.exit(code),
};

void runCli(process.argv.slice(2), io).then((code) => process.exit(code));
