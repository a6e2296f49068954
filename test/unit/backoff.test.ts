// The bounded wait shared by the worker's reset and the advisory publisher's stop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { settledWithin } from "../../src/replicator/backoff";

/** A wait that ends when the test says so, and reports whether it was cut short. */
function manualWait(): {
  wait: (ms: number, signal: AbortSignal) => Promise<void>;
  end(): void;
  aborted(): boolean;
} {
  let end = (): void => undefined;
  let signal: AbortSignal | undefined;
  return {
    wait: (_ms, s) => {
      signal = s;
      return new Promise<void>((resolve) => (end = resolve));
    },
    end: () => end(),
    aborted: () => signal?.aborted ?? false,
  };
}

test("settledWithin - true when the task settles first, and the wait is cut short", async () => {
  const w = manualWait();
  assert.equal(await settledWithin(Promise.resolve(), 500, w.wait), true);
  assert.equal(w.aborted(), true);
});

test("settledWithin - a rejected task counts as settled, and nothing is thrown", async () => {
  const w = manualWait();
  assert.equal(await settledWithin(Promise.reject(new Error("closed")), 500, w.wait), true);
});

test("settledWithin - false when the time runs out first", async () => {
  const w = manualWait();
  const result = settledWithin(new Promise(() => undefined), 500, w.wait);
  w.end();
  assert.equal(await result, false);
});
