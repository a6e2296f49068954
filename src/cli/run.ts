/**
 * The command line: parse it, run the command (replicate.ts, durables.ts), and turn what went
 * wrong into one line and an exit code. Returns the exit code; main.ts owns the process.
 *
 * Exit codes: 0 clean stop or valid config; 1 unexpected failure; 2 configuration or usage
 * mistake (one line on stderr, never a stack trace).
 */
import type { AppDeps } from "../app";
import { ConfigError, ReplicatorError, StartupError, errorText } from "../errors";
import { parseArgs, UsageError } from "./args";
import { runAdvisories } from "./advisories";
import { runDurables } from "./durables";
import type { CliIo } from "./io";
import { runReplicate } from "./replicate";

export type { CliIo };

/** Runs the command to its end and returns the exit code. Never throws. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  appDeps: Omit<AppDeps, "logger"> = {},
): Promise<number> {
  try {
    return await run(argv, io, appDeps);
  } catch (err) {
    return report(err, io);
  }
}

async function run(
  argv: readonly string[],
  io: CliIo,
  appDeps: Omit<AppDeps, "logger">,
): Promise<number> {
  const args = parseArgs(argv);
  if (args.kind === "help" || args.kind === "version") {
    io.out(args.text.endsWith("\n") ? args.text : `${args.text}\n`);
    return 0;
  }
  if (args.kind === "durables") return runDurables(args, io);
  if (args.kind === "advisories") return runAdvisories(args, io);
  return runReplicate(args, io, appDeps);
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof StartupError) {
    io.err(`${err.message}\n`);
    if (err instanceof UsageError) io.err("Run stream-replicator --help for usage.\n");
    return 2;
  }
  if (err instanceof ReplicatorError) {
    io.err(`stream-replicator: ${err.message}\n`);
    return 1;
  }
  io.err(`stream-replicator: unexpected failure: ${errorText(err)}\n`);
  if (err instanceof Error && err.stack) io.err(`${err.stack}\n`);
  return 1;
}
