/**
 * Command-line parsing. Never exits and never prints: help and version come back as text,
 * mistakes as a UsageError, and run.ts decides what to write and which exit code to use.
 *
 *   stream-replicator [replicate] [--config FILE] [--topic NAME ...] [--pid FILE] [--validate]
 *   stream-replicator durables --topic NAME [--config FILE] [--create] [--json]
 *
 * `replicate` is the default command, so both the original tool's command line
 * (`stream-replicator replicate --config=FILE --topic=NAME --pid=FILE`) and the short form work;
 * `--flag value` and `--flag=value` both work.
 */
import { Command, CommanderError } from "commander";
import { version as packageVersion } from "../../package.json";
import { CONFIG_ENV, ENV_VARS, parseDuration } from "../config";
import { ReplicatorError } from "../errors";

export interface ReplicateArgs {
  kind: "run";
  /** Undefined when --config is not given: loadConfig then uses SR_CONFIG or the default. */
  config?: string;
  /** The --topic names, without duplicates; empty means every topic. */
  topics: string[];
  validate: boolean;
  /** Write the process id here while running. */
  pid?: string;
}

export interface DurablesArgs {
  kind: "durables";
  config?: string;
  topic: string;
  /** Create the JetStream consumers, not only print them. */
  create: boolean;
  json: boolean;
}

export interface AdvisoriesArgs {
  kind: "advisories";
  config?: string;
  topic: string;
  json: boolean;
  /** Where to start: only new events, all that are kept, or those of the last `ms`. */
  from: { kind: "new" } | { kind: "all" } | { kind: "since"; ms: number };
  /** Only events whose value matches. */
  filter?: RegExp;
  /** The watcher's client id (connection name), as the original's --name. */
  name?: string;
}

export type CliArgs =
  | ReplicateArgs
  | DurablesArgs
  | AdvisoriesArgs
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

const CONFIG_HELP = `YAML configuration file (default: $${CONFIG_ENV}, else /etc/stream-replicator/sr.yaml)`;

function buildProgram(version: string, output: string[], done: (args: CliArgs) => void): Command {
  const program = new Command("stream-replicator")
    .description("Replicates NATS Streaming channels to another cluster or into JetStream.")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.push(text),
      writeErr: (text) => output.push(text),
    })
    .helpOption("-h, --help", "show this help")
    .version(version, "-V, --version", "show the version");
  const replicate = program
    .command("replicate", { isDefault: true })
    .description("replicate the configured topics (the default command)")
    .allowExcessArguments(false)
    .option("--config <file>", CONFIG_HELP)
    .option("--topic <name...>", "replicate only these topics (repeatable; default: all)")
    .option("--pid <file>", "write the process id to this file while running")
    .option("--validate", "load and check the configuration, then exit")
    .action((opts: { config?: string; topic?: string[]; validate?: boolean; pid?: string }) => {
      const topics = [...new Set(opts.topic ?? [])];
      if (topics.some((name) => name.trim() === "")) {
        throw usage(program, "option '--topic <name...>' needs a topic name");
      }
      done({
        kind: "run",
        ...configOf(program, opts.config),
        topics,
        validate: opts.validate === true,
        ...(opts.pid !== undefined ? { pid: nonEmpty(program, "--pid <file>", opts.pid) } : {}),
      });
    });
  program
    .command("durables")
    .description(
      "print (or --create) the JetStream consumers that continue where the topic's STAN durables stand",
    )
    .allowExcessArguments(false)
    .option("--config <file>", CONFIG_HELP)
    .requiredOption("--topic <name>", "the topic (with target: jetstream)")
    .option("--create", "create the consumers on the JetStream server")
    .option("--json", "one JSON object per durable")
    .action((opts: { config?: string; topic: string; create?: boolean; json?: boolean }) => {
      done({
        kind: "durables",
        ...configOf(program, opts.config),
        topic: nonEmpty(program, "--topic <name>", opts.topic),
        create: opts.create === true,
        json: opts.json === true,
      });
    });
  program
    .command("advisories")
    .alias("advisory-watch")
    .description("print the topic's advisories as they come (time, event, value, age)")
    .allowExcessArguments(false)
    .option("--config <file>", CONFIG_HELP)
    .requiredOption("--topic <name>", "the topic whose advisories to watch")
    .option("--json", "one JSON document per line, as published")
    .option("--since <duration>", "also the events of this last while (e.g. 1h, 30m)")
    .option("--all", "also every event still kept")
    .option("--filter <regex>", "only events whose value matches")
    .option("--name <client-id>", "the watcher's client id (default: a unique one)")
    .action(
      (opts: {
        config?: string;
        topic: string;
        json?: boolean;
        since?: string;
        all?: boolean;
        filter?: string;
        name?: string;
      }) => {
        if (opts.since !== undefined && opts.all) {
          throw usage(program, "give --since or --all, not both");
        }
        const since = opts.since === undefined ? undefined : parseDuration(opts.since);
        if (opts.since !== undefined && since === undefined) {
          throw usage(program, `--since: "${opts.since}" is not a duration (use e.g. 1h, 30m)`);
        }
        done({
          kind: "advisories",
          ...configOf(program, opts.config),
          topic: nonEmpty(program, "--topic <name>", opts.topic),
          json: opts.json === true,
          from: opts.all
            ? { kind: "all" }
            : since !== undefined
              ? { kind: "since", ms: since }
              : { kind: "new" },
          ...(opts.filter !== undefined ? { filter: regex(program, opts.filter) } : {}),
          ...(opts.name !== undefined
            ? { name: nonEmpty(program, "--name <client-id>", opts.name) }
            : {}),
        });
      },
    );
  program.addHelpText(
    "after",
    () =>
      `\n${replicate.helpInformation()}\nEnvironment: ${ENV_VARS.join(", ")}.\nPrecedence: flags > environment > YAML > defaults. See docs/configuration.md.`,
  );
  return program;
}

/**
 * Parses the user arguments (process.argv.slice(2)).
 * @throws UsageError for an unknown option or command, a missing value or an extra argument.
 */
export function parseArgs(argv: readonly string[], version = packageVersion): CliArgs {
  const output: string[] = [];
  let parsed: CliArgs | undefined;
  const program = buildProgram(version, output, (args) => (parsed = args));
  try {
    program.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === "commander.helpDisplayed" || err.code === "commander.help") {
      return { kind: "help", text: output.join("") };
    }
    if (err.code === "commander.version") return { kind: "version", text: output.join("") };
    throw usage(program, err.message.replace(/^error: /, ""));
  }
  if (parsed === undefined) throw usage(program, "no command");
  return parsed;
}

function configOf(program: Command, config: string | undefined): { config?: string } {
  return config === undefined ? {} : { config: nonEmpty(program, "--config <file>", config) };
}

function nonEmpty(program: Command, option: string, value: string): string {
  if (value.trim() === "") {
    throw usage(
      program,
      `option '${option}' needs ${option.includes("file") ? "a file name" : "a value"}`,
    );
  }
  return value;
}

function regex(program: Command, text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw usage(program, `--filter: ${(err as Error).message}`);
  }
}

function usage(program: Command, message: string): UsageError {
  return new UsageError(message, program.helpInformation());
}
