// The project's NATS connection against a real server (the one inside nats-streaming-server):
// the 503 no-responders answer that ordered mode relies on to see a dropped publish at once,
// and our own PINGs keeping a healthy connection up.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { NatsConnection, NoRespondersError } from "../../src/nats/connection";
import type { HeaderInfo } from "../../src/nats/connection";
import { startStan, stopAll } from "../support/servers";

after(stopAll);

test("nats connection - a request nobody receives is refused at once with no responders", async () => {
  const server = await startStan({ clusterId: "nr" });
  const nc = await NatsConnection.connect({ url: server.url, name: "t", timeoutMs: 5000 });
  try {
    const started = Date.now();
    await assert.rejects(
      nc.request("nobody.listens.here", Buffer.from("x"), 5000),
      (err: unknown) => err instanceof NoRespondersError,
    );
    assert.ok(Date.now() - started < 1000, "long before the 5 s timeout");
  } finally {
    await nc.close();
  }
});

test("nats connection - a publish with a per-message reply subject gets its 503 on that subject", async () => {
  const server = await startStan({ clusterId: "nr2" });
  const nc = await NatsConnection.connect({ url: server.url, name: "t", timeoutMs: 5000 });
  try {
    const answers: HeaderInfo[] = [];
    nc.subscribe("_R.acks.*", (_buf, _start, _end, _reply, headers) => {
      if (headers) answers.push(headers);
    });
    for (const id of [7, 1234]) {
      nc.publishWith("nobody.here", "_R.acks.", 1, (out, at) => out.writeUInt8(65, at), id);
    }
    const deadline = Date.now() + 3000;
    while (answers.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(answers, [
      { subject: "_R.acks.7", status: 503 },
      { subject: "_R.acks.1234", status: 503 },
    ]);
  } finally {
    await nc.close();
  }
});

test("nats connection - our PINGs are answered: a quiet connection stays up", async () => {
  const server = await startStan({ clusterId: "ping" });
  const nc = await NatsConnection.connect({
    url: server.url,
    name: "t",
    timeoutMs: 5000,
    pingIntervalMs: 50,
    maxPingsOut: 2,
  });
  let closed = false;
  void nc.closed.then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 600)); // 12 ping intervals
  assert.equal(closed, false);
  await nc.close();
});
