/**
 * The replicator's command: parse flags, load the configuration, build the app, map signals to
 * stop(). Returns the exit code; main.ts owns the process.
 *
 * Exit codes: 0 clean stop or valid config; 1 unexpected failure; 2 configuration or usage
 * mistake (one line on stderr, never a stack trace).
 */
import { createApp } from "../app";
import type { AppDeps } from "../app";
import { loadConfig } from "../config";
import { ConfigError, ReplicatorError, StartupError, errorText } from "../errors";
import { createLogger } from "../logging/logger";
import { parseArgs, UsageError } from "./args";
import { runDurables } from "./durables";
import type { CliIo } from "./io";

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
  const config = loadConfig({ file: args.config, topics: args.topics });
  if (args.validate) {
    const names = config.topics.map((t) => t.key).join(", ");
    io.out(`config ${config.file}: valid (topics: ${names})\n`);
    return 0;
  }
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    file: config.logfile,
  });
  const app = createApp(config, { ...appDeps, logger });
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal: the operator does not want to wait.
      logger.warn("second signal, exiting now", { signal });
      io.exitNow(1);
    }
    logger.info("stopping", { signal });
    stopping = app.stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await app.start();
  await app.stopped;
  await logger.close();
  return 0;
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
