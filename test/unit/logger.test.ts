import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { ConfigError, PublishError } from "../../src/errors";
import { createLogger, renderFields } from "../../src/logging/logger";
import { createTestLogger } from "../support/test-logger";
import type { LoggerOptions } from "../../src/logging/logger";

/** A logger writing to memory; `lines()` returns what was written so far. */
function captured(options: Omit<LoggerOptions, "stream">) {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString()));
  const log = createLogger({ ...options, stream });
  const lines = () => chunks.join("").split("\n").filter(Boolean);
  return { log, lines };
}

test("json - one object per line with time, level, message and fields", async () => {
  const { log, lines } = captured({ level: "info", format: "json" });
  log.info("topic started", { topic: "cmdb", workers: 2 });
  await log.close();
  const out = lines();
  assert.equal(out.length, 1);
  const entry = JSON.parse(out[0]!);
  assert.deepEqual(Object.keys(entry).slice(0, 3), ["time", "level", "message"]);
  assert.equal(entry.level, "info");
  assert.equal(entry.message, "topic started");
  assert.equal(entry.topic, "cmdb");
  assert.equal(entry.workers, 2);
  assert.ok(!Number.isNaN(Date.parse(entry.time)));
});

test("level - entries below the configured level are dropped", async () => {
  const { log, lines } = captured({ level: "warn", format: "json" });
  log.debug("d");
  log.verbose("v");
  log.info("i");
  log.warn("w");
  log.error("e");
  await log.close();
  assert.deepEqual(
    lines().map((l) => JSON.parse(l).message),
    ["w", "e"],
  );
});

test("child - adds component, topic and worker to every entry, nested children merge", async () => {
  const { log, lines } = captured({ level: "debug", format: "json" });
  const child = log.child({ component: "copier", topic: "cmdb" }).child({ worker: 3 });
  child.debug("message copied", { seq: 7 });
  await log.close();
  const entry = JSON.parse(lines()[0]!);
  assert.equal(entry.component, "copier");
  assert.equal(entry.topic, "cmdb");
  assert.equal(entry.worker, 3);
  assert.equal(entry.seq, 7);
});

test("errors - rendered as their message with causes, no stack below debug", async () => {
  const { log, lines } = captured({ level: "info", format: "json" });
  const err = new PublishError("publish timed out", "timeout", {
    cause: new Error("no ack in 2000ms"),
  });
  log.warn("publish failed", { err });
  await log.close();
  const entry = JSON.parse(lines()[0]!);
  assert.equal(entry.err, "publish timed out: no ack in 2000ms");
  assert.equal(entry.err_stack, undefined);
  assert.ok(!lines()[0]!.includes("at "), "no stack frames in the output");
});

test("errors - a stack is added at level debug", async () => {
  const { log, lines } = captured({ level: "debug", format: "json" });
  log.error("boom", { err: new Error("bad") });
  await log.close();
  const entry = JSON.parse(lines()[0]!);
  assert.equal(entry.err, "bad");
  assert.match(entry.err_stack, /Error: bad\n\s+at /);
});

test("redact - URL credentials and secret-named fields never reach the output", async () => {
  const { log, lines } = captured({ level: "debug", format: "json" });
  log.child({ component: "session", url: "nats://alice:hunter2@source:4222" }).info("connecting", {
    urls: "nats://alice:hunter2@s1:4222,nats://tok3n@s2:4222",
    password: "hunter2",
    Token: "tok3n",
    tls: { key: "PRIVATE", ca: "/etc/ca.pem" },
    seed: "SUAXYZ",
    err: new Error("connect nats://alice:hunter2@source:4222 refused"),
  });
  await log.close();
  const line = lines()[0]!;
  for (const secret of ["hunter2", "tok3n", "PRIVATE", "SUAXYZ", "alice"]) {
    assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
  }
  const entry = JSON.parse(line);
  assert.equal(entry.url, "nats://source:4222");
  assert.equal(entry.urls, "nats://s1:4222,nats://s2:4222");
  assert.equal(entry.password, "[redacted]");
  assert.equal(entry.Token, "[redacted]");
  assert.deepEqual(entry.tls, { key: "[redacted]", ca: "/etc/ca.pem" });
  assert.equal(entry.err, "connect nats://source:4222 refused");
});

test("text - timestamp, level, [component], message, then key=value fields", async () => {
  const { log, lines } = captured({ level: "info", format: "text" });
  log.child({ component: "copier" }).warn("publish failed", {
    topic: "cmdb",
    reason: "ack timeout",
    url: "nats://u:p@h:4222",
  });
  await log.close();
  assert.match(
    lines()[0]!,
    /^\d{4}-\d\d-\d\dT\S+Z warn {4}\[copier\] publish failed topic=cmdb reason="ack timeout" url=nats:\/\/h:4222$/,
  );
});

test("fields named like winston's own keys do not overwrite level or message", async () => {
  const { log, lines } = captured({ level: "info", format: "json" });
  log.info("real message", { level: "fake", message: "fake" });
  await log.close();
  const entry = JSON.parse(lines()[0]!);
  assert.equal(entry.level, "info");
  assert.equal(entry.message, "real message");
  assert.equal(entry.level_, "fake");
  assert.equal(entry.message_, "fake");
});

test("file - entries are appended to the file and flushed by close()", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sr-log-"));
  try {
    const file = join(dir, "replicator.log");
    const log = createLogger({ level: "info", format: "json", file });
    log.info("first");
    log.info("second", { n: 2 });
    await log.close();
    log.info("after close is dropped");
    const out = readFileSync(file, "utf8").trim().split("\n");
    assert.deepEqual(
      out.map((l) => JSON.parse(l).message),
      ["first", "second"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("file - an unusable path is a ConfigError at creation", () => {
  assert.throws(
    () => createLogger({ level: "info", format: "json", file: "/nonexistent-dir/x/y.log" }),
    (err: unknown) => err instanceof ConfigError && err.key === "logfile",
  );
});

test("renderFields - binary, bigint, dates, cycles and depth are JSON-safe", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const out = renderFields(
    {
      data: Buffer.from("payload"),
      big: 12n,
      when: new Date(0),
      cyclic,
      deep: { a: { b: { c: { d: { e: 1 } } } } },
      fn: () => 1,
      skipped: undefined,
    },
    { stacks: false },
  );
  assert.equal(out.data, "[7 bytes]");
  assert.equal(out.big, "12");
  assert.equal(out.when, "1970-01-01T00:00:00.000Z");
  assert.deepEqual(out.cyclic, { a: 1, self: "[circular]" });
  assert.deepEqual(out.deep, { a: { b: { c: { d: "[object]" } } } });
  assert.equal(out.fn, "[function]");
  assert.ok(!("skipped" in out));
  assert.doesNotThrow(() => JSON.stringify(out));
});

test("createTestLogger - records rendered entries, shared with children", () => {
  const log = createTestLogger();
  const child = log.child({ component: "limiter", topic: "cmdb" });
  child.info("state saved", { entries: 10, secret: "x" });
  log.debug("hello");
  assert.equal(log.entries.length, 2);
  assert.deepEqual(log.find("state saved")[0], {
    level: "info",
    message: "state saved",
    fields: { component: "limiter", topic: "cmdb", entries: 10, secret: "[redacted]" },
  });
  log.clear();
  assert.equal(log.entries.length, 0);
});

test("createTestLogger - level filter and errors as messages", () => {
  const log = createTestLogger({ level: "warn" });
  log.info("dropped");
  log.error("failed", { err: new Error("nope") });
  assert.deepEqual(log.entries, [{ level: "error", message: "failed", fields: { err: "nope" } }]);
});

test("logger - reopen after the file was moved: every line in exactly one of the two files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sr-log-rotate-"));
  const file = join(dir, "sr.log");
  const logger = createLogger({ level: "info", format: "json", file });
  let n = 0;
  const burst = (count: number) => {
    for (let i = 0; i < count; i++) logger.info("line", { n: n++ });
  };
  burst(500);
  renameSync(file, `${file}.1`); // what logrotate does
  burst(500); // still goes to the moved file until the reopen
  const reopening = logger.reopen();
  burst(500); // the new file
  await reopening;
  burst(500);
  await logger.close();
  const numbers = (f: string) =>
    readFileSync(f, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { n: number }).n);
  const old = numbers(`${file}.1`);
  const fresh = numbers(file);
  assert.deepEqual(
    [...old, ...fresh],
    Array.from({ length: 2000 }, (_, i) => i),
  );
  assert.equal(old.length, 1000);
  rmSync(dir, { recursive: true, force: true });
});
