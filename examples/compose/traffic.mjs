// Traffic generator of `docker compose --profile demo up`: publishes sample node registrations
// (the same documents as `npm run demo`) to a NATS Streaming channel until it is stopped.
//
// It runs in the Dockerfile's `traffic` stage (the build stage plus this file at
// /app/examples/traffic.mjs), whose /app/node_modules has the node-nats-streaming client: a
// devDependency, so the replicator's runtime image does not have it.
// Settings (environment): TRAFFIC_URL (nats://dc1:4222), TRAFFIC_CLUSTER_ID (dc1),
// TRAFFIC_CHANNEL (demo.registrations), TRAFFIC_RATE (messages a second, 50),
// TRAFFIC_NODES (distinct senders, 300).
// A lost connection ends the process with exit code 1; compose restarts it.
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import process from "node:process";
import { clearInterval, setInterval, setTimeout } from "node:timers";
import stan from "node-nats-streaming";

const env = process.env;
const url = env.TRAFFIC_URL || "nats://dc1:4222";
const clusterId = env.TRAFFIC_CLUSTER_ID || "dc1";
const channel = env.TRAFFIC_CHANNEL || "demo.registrations";
const rate = Number(env.TRAFFIC_RATE || 50);
const nodes = Number(env.TRAFFIC_NODES || 300);
const TICK_MS = 100;
const REPORT_MS = 10_000;
const MAX_OUTSTANDING = 1000;

if (!Number.isInteger(rate) || rate < 1 || !Number.isInteger(nodes) || nodes < 1) {
  process.stderr.write("traffic: TRAFFIC_RATE and TRAFFIC_NODES must be positive integers\n");
  process.exit(2);
}

function log(text) {
  process.stdout.write(`${new Date().toISOString()} traffic: ${text}\n`);
}

// A fresh client id per run: after a crash the server still holds the old one for a while.
const clientId = `traffic-${randomBytes(4).toString("hex")}`;
const client = stan.connect(clusterId, clientId, { url, maxReconnectAttempts: 0 });
let published = 0;
let acked = 0;
let outstanding = 0;
let timers = [];

function stop(code) {
  for (const timer of timers) clearInterval(timer);
  timers = [];
  client.removeAllListeners("close");
  client.once("close", () => process.exit(code));
  client.close();
  setTimeout(() => process.exit(code), 2000).unref();
}

function registration(n) {
  return {
    sender: `node${n % nodes}.dc1.example.net`,
    changed: n % 97 === 0,
    facts: { os: "debian", uptime: n },
    time: new Date().toISOString(),
  };
}

client.on("connect", () => {
  log(`connected to ${url} (cluster ${clusterId}), publishing ${rate}/s to ${channel}`);
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  timers.push(
    setInterval(() => {
      for (let i = 0; i < perTick && outstanding < MAX_OUTSTANDING; i++) {
        const n = published++;
        outstanding++;
        client.publish(channel, Buffer.from(JSON.stringify(registration(n))), (err) => {
          outstanding--;
          if (err) {
            log(`publish failed: ${err.message}`);
            stop(1);
            return;
          }
          acked++;
        });
      }
    }, TICK_MS),
    setInterval(() => log(`published ${published}, acknowledged ${acked}`), REPORT_MS),
  );
});
client.on("error", (err) => {
  log(`connection error: ${err instanceof Error ? err.message : String(err)}`);
  stop(1);
});
client.on("connection_lost", (err) => {
  log(`connection lost: ${err instanceof Error ? err.message : String(err)}`);
  stop(1);
});
client.on("close", () => {
  log("connection closed");
  process.exit(1);
});
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
