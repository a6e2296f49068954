/**
 * The replicate command: load the configuration, write the pid file, build and start the app,
 * and map signals: SIGTERM/SIGINT stop (a second one exits at once), SIGHUP reloads the
 * configuration file, SIGUSR1 reopens the log file (after logrotate moved it).
 */
import { createApp } from "../app";
import type { AppDeps } from "../app";
import { loadConfig } from "../config";
import { createLogger } from "../logging/logger";
import type { ReplicateArgs } from "./args";
import type { CliIo } from "./io";
import { writePidFile } from "./pid-file";

export async function runReplicate(
  args: ReplicateArgs,
  io: CliIo,
  appDeps: Omit<AppDeps, "logger">,
): Promise<number> {
  const config = loadConfig({ file: args.config, topics: args.topics });
  if (args.validate) {
    const names = config.topics.map((t) => t.key).join(", ");
    io.out(`config ${config.file}: valid (topics: ${names})\n`);
    return 0;
  }
  const pid = args.pid === undefined ? undefined : writePidFile(args.pid);
  try {
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
        pid?.remove();
        io.exitNow(1);
      }
      logger.info("stopping", { signal });
      stopping = app.stop();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("SIGHUP", () => {
      logger.info("reloading the configuration", { signal: "SIGHUP", file: config.file });
      void app.reload(() => loadConfig({ file: args.config, topics: args.topics }));
    });
    process.on("SIGUSR1", () => {
      void logger.reopen().then(() => logger.info("log file reopened", { signal: "SIGUSR1" }));
    });
    await app.start();
    await app.stopped;
    await logger.close();
    return 0;
  } finally {
    pid?.remove();
  }
}
