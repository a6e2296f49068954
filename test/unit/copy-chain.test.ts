// What every JetStream publish path shares: the ordered chain, aligning the stream, refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CopyChain, noStream, refusal } from "../../src/jetstream/copy-chain";
import { JS_ERR } from "../../src/jetstream/pub-ack";
import type { MessageOrigin } from "../../src/replicator/ports";

const at = (sequence: number): MessageOrigin => ({ sequence, timestampMs: 0 });

test("copy chain - chained: copies up to the stream's last are there; each new one names the one before", () => {
  const chain = new CopyChain(5);
  assert.equal(chain.has(at(5)), true);
  assert.equal(chain.has(at(6)), false);
  assert.equal(chain.previousFor(at(6)), 5);
  chain.sent(at(6));
  assert.equal(chain.previousFor(at(7)), 6);
  assert.equal(chain.previousFor(undefined), -1, "advisories name nothing");
});

test("copy chain - not chained: nothing is taken as stored, nothing named", () => {
  const chain = new CopyChain();
  chain.sent(at(3));
  assert.equal(chain.has(at(1)), false);
  assert.equal(chain.previousFor(at(4)), -1);
});

test("copy chain - aligns once before the first copy; a failed alignment is retried with the next", async () => {
  const aligned: number[] = [];
  let fail = true;
  const chain = new CopyChain(-1, async (first) => {
    aligned.push(first);
    if (fail) throw new Error("stream busy");
  });
  assert.equal(chain.mustAlign(undefined), false);
  assert.equal(chain.mustAlign(at(10)), true);
  await assert.rejects(
    chain.alignThen(at(10), async () => "stored"),
    {
      reason: "error",
      message: /aligning the stream failed: stream busy/,
    },
  );
  fail = false;
  assert.equal(await chain.alignThen(at(10), async () => "stored"), "stored");
  assert.deepEqual(aligned, [10, 10]);
  assert.equal(chain.mustAlign(at(11)), false);
});

test("copy chain - refusals: a gap, a copy too large, anything else; no stream", () => {
  const gap = refusal(JS_ERR.wrongLastMsgId, 400, "wrong last msg ID: x");
  assert.equal(gap.reason, "error");
  assert.match(
    gap.message,
    /would leave a gap \(wrong last msg ID: x\); resuming from its last copy/,
  );
  assert.equal(refusal(JS_ERR.messageTooLarge, 400, "message size exceeds").reason, "rejected");
  assert.equal(refusal(0, 503, "busy").message, "JetStream: busy (503)");
  const none = noStream("ORDERS");
  assert.equal(none.reason, "no_responders");
  assert.match(none.message, /stream ORDERS missing/);
});
