// The consumers' cut-over: `stream-replicator durables` reads a channel's STAN durables and
// creates the JetStream consumers that continue exactly where each one stands.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import type { Message } from "node-nats-streaming";
import { makeTempDir, startStan, stopAll } from "../support/servers";
import { closeStan, connectStan, publishAll } from "../support/stan-client";
import { startNatsServer } from "../support/nats-server";
import { startReplicator } from "../support/replicator-process";
import { waitForStreamCount, withManager } from "../support/jetstream-client";

after(stopAll);

const REPO = path.resolve(__dirname, "..", "..");
const run = promisify(execFile);

/** A STAN consumer that reads `count` messages as durable `durable` (acking each), then closes. */
async function consumePart(
  url: string,
  channel: string,
  clientId: string,
  durable: string,
  count: number,
  queueGroup?: string,
): Promise<number[]> {
  const client = await connectStan(url, "dc1", clientId);
  const seen: number[] = [];
  await new Promise<void>((resolve) => {
    const opts = client
      .subscriptionOptions()
      .setDeliverAllAvailable()
      .setDurableName(durable)
      .setManualAckMode(true)
      .setMaxInFlight(1);
    const sub = queueGroup
      ? client.subscribe(channel, queueGroup, opts)
      : client.subscribe(channel, opts);
    sub.on("message", (msg: Message) => {
      if (seen.length >= count) return;
      seen.push(msg.getSequence());
      msg.ack();
      if (seen.length === count) setTimeout(resolve, 200); // let the last ack reach the server
    });
  });
  await closeStan(client); // closing keeps the durable (offline)
  return seen;
}

/** Fetches up to `max` messages from a pull consumer, acking them: their channel sequences. */
async function pullAll(url: string, stream: string, consumer: string, max: number) {
  return withManager(url, async (_jsm, nc) => {
    const { jetstream } = await import("@nats-io/jetstream");
    const c = await jetstream(nc).consumers.get(stream, consumer);
    const sequences: number[] = [];
    const batch = await c.fetch({ max_messages: max, expires: 2000 });
    for await (const m of batch) {
      sequences.push(Number(m.headers?.get("Nats-Streaming-Sequence")));
      m.ack();
    }
    return sequences;
  });
}

test("durables - --create makes the JetStream consumers that read exactly what each STAN durable had left", async () => {
  const source = await startStan({ clusterId: "dc1", monitorPort: true });
  const js = await startNatsServer();
  const channel = "orders";
  await publishAll(source.url, "dc1", channel, 100);
  const topic = {
    topic: channel,
    source_url: source.url,
    source_cluster_id: "dc1",
    source_monitor_url: source.monitorUrl,
    target: "jetstream",
    target_url: js.url,
    jetstream: { stream: "ORDERS", create: true },
  };
  const bridge = await startReplicator({ config: { topics: { orders: topic } } });
  await waitForStreamCount(js.url, "ORDERS", 100);

  // The applications read part of the channel, then stop (their durables stay).
  assert.equal((await consumePart(source.url, channel, "app-1", "billing", 40)).at(-1), 40);
  await consumePart(source.url, channel, "worker-1", "shipping", 25, "shippers");

  const dir = makeTempDir("durables");
  const file = path.join(dir, "sr.yaml");
  writeFileSync(file, stringify({ topics: { orders: topic } }));
  const cli = [path.join(REPO, "src/main.ts"), "durables", `--config=${file}`, "--topic=orders"];
  const dry = await run(process.execPath, ["--import", "tsx", ...cli], { cwd: REPO });
  assert.match(
    dry.stdout,
    /durable billing \(client app-1\): next channel sequence 41 -> consumer billing on stream ORDERS at stream sequence 41: not created \(add --create\)/,
  );
  const created = await run(process.execPath, ["--import", "tsx", ...cli, "--create"], {
    cwd: REPO,
  });
  assert.match(created.stdout, /durable billing .*: created/);
  assert.match(
    created.stdout,
    /durable shipping \(client [^,]+, queue shippers\): next channel sequence 26 .*: created/,
  );

  // Producers keep publishing to STAN; the bridge copies on; the consumers read the rest, once.
  await publishAll(source.url, "dc1", channel, 10);
  await waitForStreamCount(js.url, "ORDERS", 110);
  const expected = (from: number) => Array.from({ length: 111 - from }, (_, i) => from + i);
  assert.deepEqual(await pullAll(js.url, "ORDERS", "billing", 200), expected(41));
  assert.deepEqual(await pullAll(js.url, "ORDERS", "shipping", 200), expected(26));
  assert.equal(await bridge.stop(), 0);
});

test("durables - a durable still in use is refused, with exit code 1", async () => {
  const source = await startStan({ clusterId: "dc1", monitorPort: true });
  const js = await startNatsServer();
  await publishAll(source.url, "dc1", "busy", 5);
  const client = await connectStan(source.url, "dc1", "busy-app");
  client.subscribe(
    "busy",
    client.subscriptionOptions().setDurableName("live").setDeliverAllAvailable(),
  );
  await new Promise((r) => setTimeout(r, 300));
  const dir = makeTempDir("durables");
  const file = path.join(dir, "sr.yaml");
  writeFileSync(
    file,
    stringify({
      topics: {
        busy: {
          topic: "busy",
          source_url: source.url,
          source_cluster_id: "dc1",
          source_monitor_url: source.monitorUrl,
          target: "jetstream",
          target_url: js.url,
          jetstream: { stream: "BUSY", create: true },
        },
      },
    }),
  );
  const result = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(REPO, "src/main.ts"),
      "durables",
      "--config",
      file,
      "--topic",
      "busy",
    ],
    { cwd: REPO },
  ).then(
    () => ({ code: 0, stdout: "" }),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(result.code, 1);
  assert.match(result.stdout, /durable live: in use by client busy-app: stop that consumer first/);
  await closeStan(client);
});
