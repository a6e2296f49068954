/**
 * The replicate command: load the configuration, write the pid file, build and start the app,
 * map signals to stop(), and clean up at the end.
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
    await app.start();
    await app.stopped;
    await logger.close();
    return 0;
  } finally {
    pid?.remove();
  }
}
