// Proves the integration test bed itself: real nats-streaming-server processes started, killed
// and restarted by test/support/servers.ts, and read back byte-exact by test/support/stan-client.ts.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { startStan, startStanCluster, stopAll } from "../support/servers";
import {
  closeStan,
  connectStan,
  numberedPayloads,
  publishAll,
  readAll,
  waitFor,
} from "../support/stan-client";
import type { ReadMessage } from "../support/stan-client";

const TEST_TIMEOUT = { timeout: 60_000 };
const MiB = 1024 * 1024;
/** The NATS default max_payload is 1048576 bytes and the STAN envelope around a payload adds
 * 56 bytes + client id + channel name, so a 1 MiB payload needs a larger max_payload. */
const MAX_PAYLOAD = 2 * MiB;
/** STAN PubMsg fields around the data: guid and conn id (22-char NUIDs), tags and lengths. */
const ENVELOPE_FIXED_BYTES = 56;

after(() => stopAll());

function specialPayloads(): Buffer[] {
  return [Buffer.alloc(0), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(MiB)];
}

/** Asserts the messages are exactly `payloads`, in order, with sequences firstSeq, firstSeq+1, ... */
function assertExactly(messages: ReadMessage[], payloads: Buffer[], firstSeq = 1): void {
  assert.equal(messages.length, payloads.length, "message count");
  messages.forEach((msg, i) => {
    assert.equal(msg.seq, firstSeq + i, `sequence of message #${i}`);
    const expected = payloads[i] as Buffer;
    assert.equal(msg.data.length, expected.length, `length of message #${i}`);
    assert.ok(msg.data.equals(expected), `bytes of message #${i}`);
  });
}

test(
  "testbed - dc1 and dc2 round-trip empty, all-byte-values and 1 MiB payloads byte-exact",
  TEST_TIMEOUT,
  async () => {
    const [dc1, dc2] = await Promise.all([
      startStan({ clusterId: "dc1", store: "FILE", maxPayload: MAX_PAYLOAD }),
      startStan({ clusterId: "dc2", store: "FILE", maxPayload: MAX_PAYLOAD }),
    ]);
    assert.notEqual(dc1.port, dc2.port);

    const toDc1 = await publishAll(dc1.url, "dc1", "orders", specialPayloads());
    const toDc2 = await publishAll(dc2.url, "dc2", "audit", specialPayloads());

    assertExactly(
      await readAll(dc1.url, "dc1", "orders", { expect: 3, timeoutMs: 20_000, settleMs: 200 }),
      toDc1,
    );
    assertExactly(
      await readAll(dc2.url, "dc2", "audit", { expect: 3, timeoutMs: 20_000, settleMs: 200 }),
      toDc2,
    );
    // The two servers share nothing.
    assert.equal(
      (await readAll(dc2.url, "dc2", "orders", { timeoutMs: 10_000, idleMs: 300 })).length,
      0,
    );
  },
);

test(
  "testbed - the default max_payload fits 1 MiB minus the envelope, and not one byte more",
  TEST_TIMEOUT,
  async () => {
    const server = await startStan({ clusterId: "dc1", store: "MEMORY" });
    const clientId = "pub-limit";
    const channel = "big";
    const largest = MiB - ENVELOPE_FIXED_BYTES - clientId.length - channel.length;

    await publishAll(server.url, "dc1", channel, [Buffer.alloc(largest, 7)], { clientId });
    // Too large: the server drops the connection ("Maximum Payload Violation"); the publisher
    // sees no error, only a missing ack.
    await assert.rejects(
      publishAll(server.url, "dc1", channel, [Buffer.alloc(largest + 1, 7)], {
        clientId,
        timeoutMs: 3000,
      }),
      /0\/1 acked/,
    );
    const stored = await readAll(server.url, "dc1", channel, {
      expect: 1,
      timeoutMs: 10_000,
      settleMs: 300,
    });
    assert.deepEqual(
      stored.map((m) => m.data.length),
      [largest],
    );
  },
);

test(
  "testbed - a FILE store server keeps every message across kill -9 and restart on the same port",
  TEST_TIMEOUT,
  async (t) => {
    const server = await startStan({ clusterId: "dc1", store: "FILE", maxPayload: MAX_PAYLOAD });
    const { url, port } = server;
    const before = [...numberedPayloads(1000), ...specialPayloads()];
    await publishAll(url, "dc1", "orders", before);

    const oldPid = server.pid;
    await server.kill();
    assert.equal(server.running, false);
    const started = Date.now();
    await server.restart();
    t.diagnostic(`restart after kill -9 ready in ${Date.now() - started} ms`);
    assert.notEqual(server.pid, oldPid);
    assert.equal(server.port, port);
    assert.equal(server.url, url);

    assertExactly(
      await readAll(url, "dc1", "orders", {
        expect: before.length,
        timeoutMs: 30_000,
        settleMs: 200,
      }),
      before,
    );
    // Sequences continue where they stopped.
    const afterRestart = numberedPayloads(10, "after");
    await publishAll(url, "dc1", "orders", afterRestart);
    const all = await readAll(url, "dc1", "orders", {
      expect: before.length + 10,
      timeoutMs: 30_000,
      settleMs: 200,
    });
    assertExactly(all.slice(before.length), afterRestart, before.length + 1);
    assert.match(server.logs(), /restarted/);
  },
);

test(
  "testbed - after kill -9 and restart a crashed client's id can connect at once, a reconnected one's cannot",
  TEST_TIMEOUT,
  async (t) => {
    const server = await startStan({ clusterId: "dc1", store: "FILE" });
    // "crashed": loses its connection with the server and never reconnects.
    const crashed = await connectStan(server.url, "dc1", "replicator-a", {
      stanOptions: { reconnect: false },
    });
    // "survivor": reconnects to the restarted server on its own.
    const survivor = await connectStan(server.url, "dc1", "replicator-b", {
      stanOptions: { reconnectTimeWait: 100, maxReconnectAttempts: -1 },
    });
    let survivorReconnected = false;
    survivor.on("reconnect", () => (survivorReconnected = true));
    await publishAll(server.url, "dc1", "orders", 5, { client: crashed });

    await server.kill();
    await server.restart();
    const started = Date.now();
    const again = await connectStan(server.url, "dc1", "replicator-a", {
      timeoutMs: 20_000,
      retry: true,
    });
    t.diagnostic(
      `crashed client's id connected ${Date.now() - started} ms after the restart was ready`,
    );
    await publishAll(server.url, "dc1", "orders", 5, { client: again });

    // The server recovered replicator-b from its store and the old connection answers its
    // heartbeats, so a second connection with that id is a duplicate.
    await waitFor(() => survivorReconnected, {
      timeoutMs: 10_000,
      message: "survivor reconnected",
    });
    await assert.rejects(
      connectStan(server.url, "dc1", "replicator-b"),
      /clientID already registered/,
    );
    await publishAll(server.url, "dc1", "orders", 5, { client: survivor });
    await closeStan(survivor);
    await closeStan(await connectStan(server.url, "dc1", "replicator-b"));
    await closeStan(again);
    crashed.close();

    const stored = await readAll(server.url, "dc1", "orders", {
      expect: 15,
      timeoutMs: 10_000,
      settleMs: 200,
    });
    assert.deepEqual(
      stored.map((m) => m.seq),
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
  },
);

test(
  "testbed - a 3-node cluster keeps every message when the leader is killed",
  TEST_TIMEOUT,
  async (t) => {
    const started = Date.now();
    const cluster = await startStanCluster({ clusterId: "dc-cluster", fastFailover: true });
    t.diagnostic(`3-node cluster elected a leader in ${Date.now() - started} ms`);
    assert.equal(cluster.urls.split(",").length, 3);

    const before = numberedPayloads(100, "before");
    await publishAll(cluster.urls, "dc-cluster", "orders", before);

    const oldLeader = await cluster.leader();
    await cluster.kill(oldLeader);
    const failoverStarted = Date.now();
    const newLeader = await cluster.leader();
    t.diagnostic(`new leader ${newLeader.nodeId} after ${Date.now() - failoverStarted} ms`);
    assert.notEqual(newLeader.nodeId, oldLeader.nodeId);

    const afterFailover = numberedPayloads(100, "after");
    await publishAll(cluster.urls, "dc-cluster", "orders", afterFailover);
    const expected = [...before, ...afterFailover];
    assertExactly(
      await readAll(cluster.urls, "dc-cluster", "orders", {
        expect: 200,
        timeoutMs: 30_000,
        settleMs: 200,
      }),
      expected,
    );

    // The killed node rejoins as a follower and catches up from the raft log.
    await cluster.restart(oldLeader);
    assert.equal(await cluster.role(oldLeader), "Follower");
    await waitFor(
      async () => {
        const res = await fetch(`${oldLeader.monitorUrl}/streaming/serverz`);
        return ((await res.json()) as { total_msgs?: number }).total_msgs === 200;
      },
      { timeoutMs: 20_000, message: `${oldLeader.nodeId} stores all 200 messages` },
    );
  },
);
