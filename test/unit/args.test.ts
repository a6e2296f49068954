import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError, parseArgs } from "../../src/cli/args";
import { ReplicatorError } from "../../src/errors";

test("args - the original's command line: replicate --config=FILE --topic=NAME --pid=FILE", () => {
  assert.deepEqual(
    parseArgs(["replicate", "--config=/etc/sr.yaml", "--topic=cmdb", "--pid=/run/sr.pid"]),
    { kind: "run", config: "/etc/sr.yaml", topics: ["cmdb"], validate: false, pid: "/run/sr.pid" },
  );
  assert.deepEqual(parseArgs(["replicate", "--config", "sr.yaml", "--pid", "p"]), {
    kind: "run",
    config: "sr.yaml",
    topics: [],
    validate: false,
    pid: "p",
  });
});

test("args - durables --topic NAME [--create] [--json]", () => {
  assert.deepEqual(parseArgs(["durables", "--config", "sr.yaml", "--topic=cmdb", "--create"]), {
    kind: "durables",
    config: "sr.yaml",
    topic: "cmdb",
    create: true,
    json: false,
  });
  assert.throws(() => parseArgs(["durables"]), /required option '--topic <name>' not specified/);
});

test("args - --config and repeated --topic give a run request", () => {
  assert.deepEqual(parseArgs(["--config", "sr.yaml", "--topic", "cmdb", "--topic", "audit"]), {
    kind: "run",
    config: "sr.yaml",
    topics: ["cmdb", "audit"],
    validate: false,
  });
});

test("args - --topic takes several names and drops duplicates", () => {
  const args = parseArgs(["--topic", "a", "b", "--topic=a", "--config=sr.yaml"]);
  assert.deepEqual(args, { kind: "run", config: "sr.yaml", topics: ["a", "b"], validate: false });
});

test("args - without flags: no config (SR_CONFIG applies later), every topic", () => {
  assert.deepEqual(parseArgs([]), { kind: "run", topics: [], validate: false });
});

test("args - --validate is reported", () => {
  const args = parseArgs(["--config", "sr.yaml", "--validate"]);
  assert.equal(args.kind === "run" && args.validate, true);
});

test("args - --help returns the usage text instead of printing and exiting", () => {
  const args = parseArgs(["--help"]);
  assert.equal(args.kind, "help");
  assert.match(
    args.kind === "help" ? args.text : "",
    /^Usage: stream-replicator \[options\] \[command\]/,
  );
  assert.match(args.kind === "help" ? args.text : "", /replicate \[options\]/);
  assert.match(args.kind === "help" ? args.text : "", /durables \[options\]/);
  assert.match(args.kind === "help" ? args.text : "", /--config <file>/);
  assert.match(args.kind === "help" ? args.text : "", /SR_CONFIG, SR_LOG_LEVEL/);
});

test("args - -h is --help", () => {
  assert.equal(parseArgs(["-h"]).kind, "help");
});

test("args - --version returns the given version", () => {
  assert.deepEqual(parseArgs(["--version"], "9.8.7"), { kind: "version", text: "9.8.7\n" });
});

test("args - --version defaults to the package version", () => {
  const args = parseArgs(["-V"]);
  assert.match(args.kind === "version" ? args.text : "", /^\d+\.\d+\.\d+/);
});

const mistakes: Array<[string, string[], string]> = [
  ["an unknown option", ["--bogus"], "unknown option '--bogus'"],
  ["--config without a value", ["--config"], "option '--config <file>' argument missing"],
  ["--topic without a value", ["--topic"], "option '--topic <name...>' argument missing"],
  ["an empty --config", ["--config", ""], "option '--config <file>' needs a file name"],
  ["an empty --topic", ["--topic", " "], "option '--topic <name...>' needs a topic name"],
  [
    "a positional argument",
    ["sr.yaml"],
    "too many arguments for 'replicate'. Expected 0 arguments but got 1.",
  ],
  ["an empty --pid", ["--pid", ""], "option '--pid <file>' needs a file name"],
];

for (const [what, argv, message] of mistakes) {
  test(`args - ${what} is a UsageError with usage text, not an exit`, () => {
    assert.throws(
      () => parseArgs(argv),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.ok(err instanceof ReplicatorError);
        assert.equal(err.message, message);
        assert.match(err.usage, /^Usage: stream-replicator/);
        return true;
      },
    );
  });
}
