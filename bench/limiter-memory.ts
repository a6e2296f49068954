/**
 * Limiter memory and persistence figures for 1,000,000 distinct values.
 * Run: node --import tsx bench/limiter-memory.ts [count]   (add --expose-gc for steadier RSS)
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Advisor } from "../src/advisor/advisor";
import { Limiter } from "../src/limiter/limiter";
import { loadState, saveState, stateFilePath } from "../src/limiter/state-file";

const COUNT = Number(process.argv[2] ?? 1_000_000);
const AGE = 3_600_000;
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
const ms = (n: number): string => `${n.toFixed(0)} ms`;

function mem(): { rss: number; heap: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function measureLoop<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; took: number; maxBlock: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const result = await fn();
  const took = performance.now() - t0;
  h.disable();
  return { result, took, maxBlock: h.max / 1e6 };
}

async function main(): Promise<void> {
  let now = Date.now();
  const clock = { now: () => now };
  const limiter = new Limiter({ inspect: "sender", ageMs: AGE, clock });
  const payloads = (i: number): Buffer =>
    Buffer.from(`{"sender":"host-${String(i).padStart(6, "0")}.example.net","data":{"x":1}}`);

  const before = mem();
  let t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const d = limiter.decide(payloads(i));
    if (d.action === "copy") limiter.confirm(d.ticket);
    if (i % 1000 === 0) now++;
  }
  const fill = performance.now() - t0;
  const after = mem();
  console.log(`values:               ${limiter.size}`);
  console.log(
    `fill (decide+confirm): ${ms(fill)} (${((fill * 1e6) / COUNT).toFixed(0)} ns/message)`,
  );
  console.log(
    `RSS before/after:     ${mb(before.rss)} -> ${mb(after.rss)} (+${mb(after.rss - before.rss)})`,
  );
  console.log(
    `heap before/after:    ${mb(before.heap)} -> ${mb(after.heap)} (+${mb(after.heap - before.heap)}, ${((after.heap - before.heap) / COUNT).toFixed(0)} B/value)`,
  );

  // Per-message cost on pre-built payloads (the fill above includes making each Buffer).
  const sample = Array.from({ length: 100_000 }, (_, i) => payloads(i * 10));
  const fresh = Array.from({ length: 100_000 }, (_, i) => payloads(COUNT + i));
  t0 = performance.now();
  let skipped = 0;
  for (const p of sample) if (limiter.decide(p).action === "skip") skipped++;
  const skipNs = ((performance.now() - t0) * 1e6) / sample.length;
  t0 = performance.now();
  const side = new Limiter({ inspect: "sender", ageMs: AGE, clock }); // keeps `limiter` at COUNT
  for (const p of fresh) {
    const d = side.decide(p);
    if (d.action === "copy") side.confirm(d.ticket);
  }
  const copyNs = ((performance.now() - t0) * 1e6) / fresh.length;
  const text = Buffer.from("not json at all, some binary \u0000 payload");
  t0 = performance.now();
  for (let i = 0; i < 100_000; i++) limiter.decide(text);
  const notJsonNs = ((performance.now() - t0) * 1e6) / 100_000;
  console.log(
    `decide per message:   skip ${skipNs.toFixed(0)} ns (${skipped} skipped), copy+confirm ${copyNs.toFixed(0)} ns, not_json ${notJsonNs.toFixed(0)} ns`,
  );

  t0 = performance.now();
  limiter.scrub();
  console.log(`scrub (none stale):   ${ms(performance.now() - t0)}`);

  const dir = mkdtempSync(path.join(tmpdir(), "sr-bench-"));
  try {
    const file = stateFilePath(dir, "cmdb");
    const save = await measureLoop(() =>
      saveState(file, limiter.entries(), { topic: "cmdb", inspect: "sender" }),
    );
    console.log(
      `saveState:            ${ms(save.took)}, ${mb(save.result.bytes)}, max event-loop block ${ms(save.maxBlock)}`,
    );
    console.log(`  file size:          ${mb(statSync(file).size)}`);

    const load = await measureLoop(() => loadState(file, { ageMs: AGE, now }));
    console.log(
      `loadState:            ${ms(load.took)}, ${load.result.entries.size} entries, warning=${load.result.warning ?? "none"}, max event-loop block ${ms(load.maxBlock)}`,
    );

    const restored = new Limiter({ inspect: "sender", ageMs: AGE, clock });
    t0 = performance.now();
    restored.restore(load.result.entries, now);
    console.log(`Limiter.restore:      ${ms(performance.now() - t0)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const advisor = new Advisor({
    inspect: "sender",
    advisoryAgeMs: AGE,
    expireAgeMs: 2 * AGE,
    replicator: "cmdb",
    clock,
  });
  for (let i = 0; i < COUNT; i++) advisor.seen(`host-${String(i).padStart(6, "0")}.example.net`);
  t0 = performance.now();
  const events = advisor.check();
  console.log(
    `Advisor.check:        ${ms(performance.now() - t0)} over ${advisor.size} values (${events.length} events)`,
  );
  console.log(`RSS at end:           ${mb(process.memoryUsage().rss)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
