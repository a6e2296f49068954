// `npm run demo` and `npm run demo -- --jetstream`, run as a user runs them (scripts/demo.ts on
// free ports, stopped by --seconds): per-topic progress lines that explain the numbers, and a
// summary whose "lost 0" comes from reading the targets back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");
const SECONDS = 10;

interface Demo {
  code: number | null;
  out: string;
  lines: string[];
  dir: string;
  jetstream: boolean;
}

async function runDemo(extra: string[]): Promise<Demo> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/demo.ts", "--seconds", String(SECONDS), "--free-ports", ...extra],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const dir = path.join(REPO, `.tmp/demo-${child.pid}`);
  return {
    code,
    out,
    lines: out.trimEnd().split("\n"),
    dir,
    jetstream: extra.includes("--jetstream"),
  };
}

/** A topic's progress line: `  <key>  <mode>  received N/s  copied N/s  skipped N/s  | total ...`. */
function progress(lines: string[], key: string, mode: string): number[][] {
  const re = new RegExp(
    `^  ${key} +${mode} +received +(\\d+)/s +copied +(\\d+)/s +skipped +(\\d+)/s +\\| ` +
      `total received (\\d+)(?: \\(\\d+ redelivered\\))? copied (\\d+) skipped (\\d+)$`,
  );
  return lines.flatMap((l) => {
    const m = re.exec(l);
    return m ? [m.slice(1).map(Number)] : [];
  });
}

/** A topic's totals after the replicator caught up: received, redelivered, copied, skipped. */
function totals(lines: string[], key: string, mode: string): number[] {
  const re = new RegExp(
    `^  ${key} +${mode} +total received (\\d+)(?: \\((\\d+) redelivered\\))? copied (\\d+) skipped (\\d+)$`,
  );
  const m = lines.map((l) => re.exec(l)).find((x) => x !== null);
  assert.ok(m, `no totals line of ${key}`);
  return m.slice(1).map((v) => Number(v ?? 0));
}

function assertDemo(demo: Demo, targets: { registrations: string; cmdb: string }): void {
  const { out, lines } = demo;
  assert.equal(demo.code, 0, out);
  assert.match(
    out,
    /^2 topics read the same channel dc1 demo\.registrations, so each receives every message:$/m,
  );
  assert.match(out, /^publishing 500 registrations\/s from 300 nodes to dc1 demo\.registrations$/m);

  // Every second one line per topic; each topic receives what was published (not the sum).
  const plain = progress(lines, "registrations", "ordered");
  const sampled = progress(lines, "cmdb", "queued x2, sampled");
  assert.ok(plain.length >= SECONDS - 3, `registrations lines: ${plain.length}\n${out}`);
  assert.equal(sampled.length, plain.length, "one cmdb line per registrations line");
  const steady = plain.slice(3, -1).map((r) => r[0] ?? 0);
  assert.ok(
    steady.every((r) => r > 300 && r < 700),
    `registrations received ~500/s: ${steady.join(", ")}`,
  );

  // Totals once the replicator caught up: each topic received every published message (more
  // only with redeliveries, which the line then counts); the plain one copied all of them, the
  // sampled one skipped most.
  const published = Number(/^stopping: publisher \((\d+) published\)/m.exec(out)?.[1]);
  assert.ok(published > 3000, `published ${published}`);
  const [pr = 0, pa = 0, pc = 0, ps = 0] = totals(lines, "registrations", "ordered");
  assert.equal(pr - pa, published, `registrations received less redelivered\n${out}`);
  assert.ok(pc >= published && ps === 0, `registrations copied ${pc}, skipped ${ps}`);
  const [sr = 0, sa = 0, sc = 0, ss = 0] = totals(lines, "cmdb", "queued x2, sampled");
  assert.equal(sr - sa, published, `cmdb received less redelivered\n${out}`);
  assert.ok(sc + ss >= published, `cmdb copied ${sc} + skipped ${ss} < ${published}`);
  assert.ok(sc >= 300 && ss > sc, `cmdb copied ${sc}, skipped ${ss}`);

  // Read back: every published registration on the plain target, in order; the sampled target
  // holds every copy it acknowledged, every sender's first registration among them.
  const readBack = (target: string): string => {
    const line = lines.find((l) => l.startsWith(`read back ${target}: `));
    assert.ok(line, `no read-back line of ${target}:\n${out}`);
    return line;
  };
  // The exact checks are the demo's own, from what the targets hold; a duplicate is possible
  // after a redelivery (at least once), a loss never.
  assert.match(
    readBack(targets.registrations),
    new RegExp(
      `: \\d+ messages; ${published} of ${published} published, first arrivals in order(, stream sequence = channel sequence)?; \\d+ duplicates.*, lost 0$`,
    ),
  );
  assert.match(
    readBack(targets.cmdb),
    /: (\d+) messages; \1 of \1 copies acknowledged, 300 of 300 senders; \d+ duplicates.*, lost 0$/,
  );
  const summary =
    /^summary: published (\d+); copied (\d+), skipped (\d+), duplicates (\d+), lost 0 \(verified by reading the targets back\)$/.exec(
      lines.at(-1) ?? "",
    );
  assert.ok(summary, `the last line is the summary:\n${out}`);
  assert.deepEqual(summary.slice(1, 4).map(Number), [published, pc + sc, ss]);
  const duplicates = Number(summary[4]);
  if (demo.jetstream) assert.equal(duplicates, 0, "a stream drops redelivered copies by id");
  assert.ok(!existsSync(demo.dir), `${demo.dir} removed`);
}

test(
  "demo - npm run demo: per-topic progress, then a summary with lost 0 read back from dc2",
  { timeout: 90_000 },
  async () => {
    const demo = await runDemo([]);
    assert.match(
      demo.out,
      /^ {2}registrations +ordered: every message -> dc2 demo\.registrations$/m,
    );
    assertDemo(demo, { registrations: "dc2 demo.registrations", cmdb: "dc2 demo.cmdb" });
  },
);

test(
  "demo - npm run demo -- --jetstream: the same traffic into JetStream streams, lost 0 read back with the official client",
  { timeout: 90_000 },
  async () => {
    const demo = await runDemo(["--jetstream"]);
    assert.match(demo.out, /and a JetStream server \(nats-server -js\) on 127\.0\.0\.1:\d+$/m);
    assertDemo(demo, {
      registrations: "JetStream stream DEMO_REGISTRATIONS (demo.registrations)",
      cmdb: "JetStream stream DEMO_CMDB (demo.cmdb)",
    });
    assert.match(demo.out, /DEMO_REGISTRATIONS .*, stream sequence = channel sequence; /);
  },
);
