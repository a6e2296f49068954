/**
 * Command-line parsing: `stream-replicator --config FILE [--topic NAME ...] [--validate]`.
 * Never exits and never prints: help and version come back as text, mistakes as a UsageError,
 * and main.ts decides what to write and which exit code to use.
 */
import { Command, CommanderError } from "commander";
import { version as packageVersion } from "../../package.json";
import { CONFIG_ENV, ENV_VARS } from "../config";
import { ReplicatorError } from "../errors";

export type CliArgs =
  /** Run (or with `validate`, only load and check the configuration). */
  | {
      kind: "run";
      /** Undefined when --config is not given: loadConfig then uses SR_CONFIG. */
      config?: string;
      /** The --topic names, without duplicates; empty means every topic. */
      topics: string[];
      validate: boolean;
    }
  /** --help: print `text` to stdout, exit 0. */
  | { kind: "help"; text: string }
  /** --version: print `text` to stdout, exit 0. */
  | { kind: "version"; text: string };

/** A command-line mistake: show the one-line message (and `usage` hint), exit 2. */
export class UsageError extends ReplicatorError {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

function buildProgram(version: string, output: string[]): Command {
  return new Command("stream-replicator")
    .description("Replicates NATS Streaming channels from a source cluster to a target cluster.")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.push(text),
      writeErr: (text) => output.push(text),
    })
    .allowExcessArguments(false)
    .helpOption("-h, --help", "show this help")
    .version(version, "-V, --version", "show the version")
    .option("--config <file>", `YAML configuration file (default: $${CONFIG_ENV})`)
    .option("--topic <name...>", "replicate only these topics (repeatable; default: all)")
    .option("--validate", "load and check the configuration, then exit")
    .addHelpText(
      "after",
      `\nEnvironment: ${ENV_VARS.join(", ")}.\nPrecedence: flags > environment > YAML > defaults. See docs/configuration.md.`,
    );
}

/**
 * Parses the user arguments (process.argv.slice(2)).
 * @throws UsageError for an unknown option, a missing value or an extra argument.
 */
export function parseArgs(argv: readonly string[], version = packageVersion): CliArgs {
  const output: string[] = [];
  const program = buildProgram(version, output);
  try {
    program.parse([...argv], { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === "commander.helpDisplayed" || err.code === "commander.help") {
      return { kind: "help", text: output.join("") };
    }
    if (err.code === "commander.version") return { kind: "version", text: output.join("") };
    throw new UsageError(err.message.replace(/^error: /, ""), program.helpInformation());
  }
  const opts = program.opts<{ config?: string; topic?: string[]; validate?: boolean }>();
  const topics = [...new Set(opts.topic ?? [])];
  if (opts.config !== undefined && opts.config.trim() === "") {
    throw new UsageError("option '--config <file>' needs a file name", program.helpInformation());
  }
  if (topics.some((name) => name.trim() === "")) {
    throw new UsageError(
      "option '--topic <name...>' needs a topic name",
      program.helpInformation(),
    );
  }
  return {
    kind: "run",
    ...(opts.config !== undefined ? { config: opts.config } : {}),
    topics,
    validate: opts.validate === true,
  };
}
