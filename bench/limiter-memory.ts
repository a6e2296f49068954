/**
 * Limiter (+ advisor) memory and persistence figures for 1,000,000 distinct senders, through
 * TopicSampler as the replicator wires it: RSS before and after tracking them, peak RSS and
 * longest event-loop block while saving, then loading the saved files in a fresh process (as at a
 * restart) and saving again there.
 *
 * Run: node --expose-gc --import tsx bench/limiter-memory.ts [count] [--no-advisor]
 * Peaks are VmHWM, reset before each phase through /proc/self/clear_refs (Linux).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { TopicConfig } from "../src/config/types";
import { Limiter } from "../src/sampling/limiter";
import { TopicSampler } from "../src/sampling/topic-sampler";
import { stateFilePath } from "../src/sampling/state-file";
import { createTestLogger } from "../test/support/test-logger";

const AGE = 3_600_000;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const COUNT = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const ADVISOR = !args.includes("--no-advisor");
const gc = (globalThis as { gc?: () => void }).gc;
const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
const ms = (n: number): string => `${n.toFixed(0)} ms`;

/** RSS once garbage is collected and freed: V8 frees dead ArrayBuffers after a GC, not in it. */
async function rss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return process.memoryUsage().rss;
}

/** Peak RSS since the last resetPeak() (VmHWM), in bytes; NaN where /proc cannot tell. */
function peak(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

function resetPeak(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // not Linux, or not allowed: peaks then count from the start of the process
  }
}

/** Runs `fn`, with its duration, the longest event-loop block during it and the peak RSS. */
async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ took: number; block: number; peak: number }> {
  gc?.();
  resetPeak();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  await fn();
  const took = performance.now() - t0;
  // Let the histogram's timer fire once more, or a block at the very end of `fn` goes unseen.
  await new Promise((resolve) => setTimeout(resolve, 20));
  h.disable();
  return { took, block: h.max / 1e6, peak: peak() };
}

function sampling(stateDir: string, now: () => number): TopicSampler {
  const topic = {
    key: "cmdb",
    name: "cmdb",
    inspect: "sender",
    ageMs: AGE,
    advisory: ADVISOR ? { target: "adv", cluster: "target", ageMs: AGE / 2 } : undefined,
  } as TopicConfig;
  return new TopicSampler({
    topic,
    stateDir,
    saveIntervalMs: 24 * AGE,
    clock: { now },
    log: createTestLogger({ level: "warn" }),
    hooks: { tracked: () => {}, saved: () => {}, advisory: () => {}, advisoryFailed: () => {} },
    publishAdvisory: ADVISOR ? async () => {} : undefined,
  });
}

const payload = (i: number): Buffer =>
  Buffer.from(`{"sender":"host-${String(i).padStart(6, "0")}.example.net","data":{"x":1}}`);

function fileSizes(dir: string): string {
  const files = [
    stateFilePath(dir, "cmdb"),
    ...(ADVISOR ? [stateFilePath(dir, "cmdb.advisor")] : []),
  ];
  return files.map((f) => MiB(statSync(f).size)).join(" + ");
}

/** Fresh-process mode: load the state of `dir` at `now` as a restarting replicator does, save it. */
async function loadAndSave(dir: string, now: number): Promise<void> {
  const before = await rss();
  const s = sampling(dir, () => now);
  const load = await measure(() => s.start());
  const after = await rss();
  console.log(`values loaded:        ${s.limiter.size}`);
  console.log(`load time:            ${ms(load.took)}, max event-loop block ${ms(load.block)}`);
  console.log(
    `load RSS:             ${MiB(before)} -> ${MiB(after)} (+${MiB(after - before)}), peak ${MiB(load.peak)}`,
  );
  const save = await measure(() => s.save());
  console.log(
    `save time:            ${ms(save.took)}, max event-loop block ${ms(save.block)}, peak ${MiB(save.peak)}`,
  );
  await s.stop(100);
}

async function main(): Promise<void> {
  const loadDir = flag("--load");
  if (loadDir !== undefined) return loadAndSave(loadDir, Number(flag("--now")));

  let now = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), "sr-bench-"));
  try {
    // The same messages from a single sender: what the message garbage alone costs at peak (V8
    // grows its young generation under allocation), to tell apart from what the table costs.
    const one = sampling(dir, () => now);
    const warmup = await measure(async () => {
      for (let i = 0; i < COUNT; i++) {
        const d = one.sampler.decide(payload(0));
        if (d.copy) d.confirm?.();
      }
    });
    await one.stop(100);

    const before = await rss();
    const heapBefore = process.memoryUsage().heapUsed;
    const s = sampling(dir, () => now);
    await s.start();
    resetPeak();
    let t0 = performance.now();
    for (let i = 0; i < COUNT; i++) {
      const d = s.sampler.decide(payload(i));
      if (d.copy) d.confirm?.();
      if (i % 1000 === 0) now++;
    }
    const fill = performance.now() - t0;
    const fillPeak = peak();
    const after = await rss();
    const heapAfter = process.memoryUsage().heapUsed;
    console.log(`senders:              ${s.limiter.size}, advisor ${ADVISOR ? "on" : "off"}`);
    console.log(`peak, 1 sender:       ${MiB(warmup.peak)} (${COUNT} messages of one sender)`);
    console.log(
      `fill (decide+confirm): ${ms(fill)} (${((fill * 1e6) / COUNT).toFixed(0)} ns/message)`,
    );
    console.log(
      `RSS before/after:     ${MiB(before)} -> ${MiB(after)} (+${MiB(after - before)}), peak during fill ${MiB(fillPeak)}`,
    );
    console.log(
      `heap before/after:    ${MiB(heapBefore)} -> ${MiB(heapAfter)} (${((heapAfter - heapBefore) / COUNT).toFixed(0)} B/value)`,
    );

    const save = await measure(() => s.save());
    console.log(
      `save time:            ${ms(save.took)}, max event-loop block ${ms(save.block)}, peak ${MiB(save.peak)}`,
    );
    console.log(`file size:            ${fileSizes(dir)}`);
    console.log(`RSS after save:       ${MiB(await rss())}`);

    // Per-message cost on pre-built payloads (the fill above includes making each Buffer).
    const sample = Array.from({ length: 100_000 }, (_, i) => payload((i * 10) % COUNT));
    const fresh = Array.from({ length: 100_000 }, (_, i) => payload(COUNT + i));
    t0 = performance.now();
    let skipped = 0;
    for (const p of sample) if (!s.sampler.decide(p).copy) skipped++;
    const skipNs = ((performance.now() - t0) * 1e6) / sample.length;
    const side = new Limiter({ inspect: "sender", ageMs: AGE, clock: { now: () => now } });
    t0 = performance.now();
    for (const p of fresh) {
      const d = side.decide(p);
      if (d.action === "copy") side.confirm(d.ticket);
    }
    const copyNs = ((performance.now() - t0) * 1e6) / fresh.length;
    console.log(
      `decide per message:   skip ${skipNs.toFixed(0)} ns (${skipped} skipped), copy+confirm ${copyNs.toFixed(0)} ns`,
    );
    t0 = performance.now();
    s.limiter.scrub();
    console.log(`scrub (none stale):   ${ms(performance.now() - t0)}`);

    // A restart: a fresh process that loads the files, then saves them again.
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        __filename,
        "--load",
        dir,
        "--now",
        String(now),
        ...(ADVISOR ? [] : ["--no-advisor"]),
      ],
      { encoding: "utf8" },
    );
    const lines = `${child.stdout}${child.stderr}`.trimEnd().split("\n");
    for (const line of lines) console.log(`restart ${line}`);
    if (child.status !== 0) throw new Error(`load process exited with ${child.status}`);
    await s.stop(100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
