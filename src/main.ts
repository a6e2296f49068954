#!/usr/bin/env -S node --max-semi-space-size=8
/**
 * The command line: parse flags, load the configuration, build the app, map signals to
 * stop(). The only file that calls process.exit.
 *
 * Exit codes: 0 clean stop or valid config; 1 unexpected failure; 2 configuration or usage
 * mistake (one line on stderr, never a stack trace).
 */
import { parseArgs, UsageError } from "./cli/args";
import { loadConfig } from "./config";
import { ConfigError, ReplicatorError, errorText } from "./errors";
import { createApp } from "./app";
import { createLogger } from "./logging/logger";

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.kind !== "run") {
    process.stdout.write(args.text.endsWith("\n") ? args.text : `${args.text}\n`);
    return 0;
  }
  const config = loadConfig({ file: args.config, topics: args.topics });
  if (args.validate) {
    const names = config.topics.map((t) => t.key).join(", ");
    process.stdout.write(`config ${config.file}: valid (topics: ${names})\n`);
    return 0;
  }
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    file: config.logfile,
  });
  const app = createApp(config, { logger });
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal: the operator does not want to wait.
      logger.warn("second signal, exiting now", { signal });
      process.exit(1);
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

function reportAndExit(err: unknown): never {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    if (err instanceof UsageError)
      process.stderr.write("Run stream-replicator --help for usage.\n");
    process.exit(2);
  }
  if (err instanceof ReplicatorError) {
    process.stderr.write(`stream-replicator: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`stream-replicator: unexpected failure: ${errorText(err)}\n`);
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

main(process.argv.slice(2)).then((code) => process.exit(code), reportAndExit);
