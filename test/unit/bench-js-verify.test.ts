import { test } from "node:test";
import assert from "node:assert/strict";
import { SourceIndex, StreamCheck } from "../../bench/lib/js-verify";
import type { StreamCopy, StreamExpectation } from "../../bench/lib/js-verify";

/** A payload as sr-loadgen makes it (bench/lib/payload.ts), `size` bytes. */
function payload(phase: "B" | "L", id: number, size = 120): Buffer {
  const head = `{"id":"${String(id).padStart(9, "0")}","ph":"${phase}","ts":"1732500000000.123","sender":"${phase}-host-${String(id).padStart(6, "0")}","pad":"`;
  return Buffer.from(head.padEnd(size - 2, "x") + '"}', "latin1");
}

/** A source channel of `backlog` B messages (sequences 1..backlog) then `live` L messages. */
function source(backlog: number, live = 0): { index: SourceIndex; data: Map<number, Buffer> } {
  const index = new SourceIndex();
  const data = new Map<number, Buffer>();
  for (let i = 0; i < backlog + live; i++) {
    const d = i < backlog ? payload("B", i) : payload("L", i - backlog);
    index.add(i + 1, d);
    data.set(i + 1, d);
  }
  return { index, data };
}

const PREFIX = "dc1:bench.x:";

function copyOf(
  data: Map<number, Buffer>,
  seq: number,
  o: { storedMs?: number; msgId?: string | null; seqHeader?: string | null; bytes?: Buffer } = {},
): StreamCopy {
  const headers: Record<string, string> = {};
  if (o.seqHeader !== null) headers["Nats-Streaming-Sequence"] = o.seqHeader ?? String(seq);
  if (o.msgId !== null) headers["Nats-Msg-Id"] = o.msgId ?? `${PREFIX}${seq}`;
  return {
    header: (name) => headers[name],
    data: o.bytes ?? data.get(seq) ?? Buffer.alloc(0),
    storedMs: o.storedMs ?? 1000 + seq,
  };
}

function check(
  src: ReturnType<typeof source>,
  seqs: number[],
  exp: Partial<StreamExpectation> = {},
  copy: (seq: number, i: number) => StreamCopy = (seq) => copyOf(src.data, seq),
) {
  const c = new StreamCheck(src.index, { backlog: 5, ordered: true, msgIdPrefix: PREFIX, ...exp });
  seqs.forEach((seq, i) => c.add(copy(seq, i)));
  return c.result(seqs.length, src.index.size);
}

test("js verify - every message once, byte for byte, in order: OK, with the backlog's store times", () => {
  const src = source(5, 3);
  const v = check(src, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(v.problems, []);
  assert.equal(v.ok, true);
  assert.equal(v.distinct, 8);
  assert.equal(v.duplicates, 0);
  assert.equal(v.backlogDistinct, 5);
  assert.equal(v.backlogStoredFirstMs, 1001);
  assert.equal(v.backlogStoredLastMs, 1005);
});

test("js verify - a duplicate in the stream fails the run (exactly once)", () => {
  const src = source(5);
  const v = check(src, [1, 2, 3, 3, 4, 5]);
  assert.equal(v.ok, false);
  assert.equal(v.duplicates, 1);
  assert.equal(v.missing, 0);
  assert.match(v.problems.join(";"), /1 duplicates in the stream/);
});

test("js verify - a missing message fails the run", () => {
  const src = source(5);
  const v = check(src, [1, 2, 4, 5]);
  assert.equal(v.ok, false);
  assert.equal(v.missing, 1);
  assert.match(v.problems.join(";"), /1 of 5 messages missing/);
});

test("js verify - ordered contenders must store first copies in source order; queued ones need not", () => {
  const src = source(5);
  const ordered = check(src, [1, 3, 2, 4, 5]);
  assert.equal(ordered.ok, false);
  assert.equal(ordered.outOfOrder, 1);
  assert.match(ordered.problems.join(";"), /source sequence 2 after 3/);
  assert.equal(check(src, [1, 3, 2, 4, 5], { ordered: false }).ok, true);
});

test("js verify - a copy whose bytes differ from its source message fails the run", () => {
  const src = source(5);
  const changed = Buffer.from(src.data.get(3) ?? Buffer.alloc(0));
  changed[changed.length - 3] = "y".charCodeAt(0);
  const v = check(src, [1, 2, 3, 4, 5], {}, (seq) =>
    copyOf(src.data, seq, seq === 3 ? { bytes: changed } : {}),
  );
  assert.equal(v.ok, false);
  assert.equal(v.payloadMismatches, 1);
});

test("js verify - message ids: required and checked when the contender sets them, not otherwise", () => {
  const src = source(5);
  const wrong = check(src, [1, 2, 3, 4, 5], {}, (seq) =>
    copyOf(src.data, seq, { msgId: seq === 2 ? `${PREFIX}7` : seq === 4 ? null : undefined }),
  );
  assert.equal(wrong.ok, false);
  assert.equal(wrong.wrongMsgIds, 2);
  const none = check(src, [1, 2, 3, 4, 5], { msgIdPrefix: undefined }, (seq) =>
    copyOf(src.data, seq, { msgId: null }),
  );
  assert.equal(none.ok, true);
});

test("js verify - a copy without the sequence header is matched by its payload id (a warning)", () => {
  const src = source(5, 2);
  const v = check(src, [1, 2, 3, 4, 5, 6, 7], {}, (seq) =>
    copyOf(src.data, seq, { seqHeader: seq === 6 ? null : undefined }),
  );
  assert.equal(v.ok, true);
  assert.equal(v.matchedByPayload, 1);
  assert.equal(v.warnings.length, 1);
});

test("js verify - stream messages that are not from the channel fail the run", () => {
  const src = source(5);
  const c = new StreamCheck(src.index, { backlog: 5, ordered: true });
  for (let seq = 1; seq <= 5; seq++) c.add(copyOf(src.data, seq));
  c.add({ header: () => undefined, data: Buffer.from("hello"), storedMs: 0 });
  c.add(copyOf(src.data, 99, { bytes: payload("B", 0) })); // names a sequence not published
  const v = c.result(7, 5);
  assert.equal(v.ok, false);
  assert.equal(v.unexpected, 2);
});

test("js verify - fewer messages read than the stream holds, or a short source, fail the run", () => {
  const src = source(5);
  const c = new StreamCheck(src.index, { backlog: 5, ordered: true });
  for (let seq = 1; seq <= 5; seq++) c.add(copyOf(src.data, seq));
  assert.match(c.result(6, 5).problems.join(";"), /read 5 of 6 stream messages/);
  assert.match(
    c.result(5, 6).problems.join(";"),
    /the source channel holds 5 messages, 6 were published/,
  );
});
