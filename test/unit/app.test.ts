// createApp with fake sessions: what starts before what (HTTP, then topics), what stops before
// what (topics settle, then state is saved, then HTTP closes), and the status it serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { stateFilePath } from "../../src/sampling/state-file";
import { FakeConnector, until } from "../support/fake-sessions";
import type { FakeSession } from "../support/fake-sessions";
import { createTestLogger } from "../support/test-logger";

function configIn(dir: string) {
  const file = path.join(dir, "sr.yaml");
  writeFileSync(
    file,
    [
      "http_host: 127.0.0.1",
      "http_port: 0",
      `state_dir: ${path.join(dir, "state")}`,
      "topics:",
      "  cmdb:",
      "    topic: acme.cmdb",
      "    source_cluster_id: dc1",
      "    target_url: nats://127.0.0.1:1",
      "    target_cluster_id: dc2",
      "    inspect: host",
      "    age: 1h",
      "",
    ].join("\n"),
  );
  return loadConfig({ file, env: {} });
}

async function livez(port: number): Promise<number | string> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/livez`)).status;
  } catch (err) {
    return (err as Error).message;
  }
}

test("app - start: HTTP answers before any session opens; stop: sessions close, state is saved, then HTTP closes", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-app-"));
  try {
    const config = configIn(dir);
    const stateFile = stateFilePath(path.join(dir, "state"), config.topics[0]!.name);
    const events: string[] = [];
    const source = new FakeConnector();
    const target = new FakeConnector();
    target.autoAck = true;
    // Called once the app exists (sessions open during start()).
    const port = (): number => app.ports()[0] ?? 0;
    const onOpen = async (s: FakeSession) => {
      events.push(`open ${s.side}: livez ${await livez(port())}`);
      const close = s.close.bind(s);
      s.close = async () => {
        events.push(
          `close ${s.side}: livez ${await livez(port())}, state saved ${existsSync(stateFile)}`,
        );
        await close();
      };
    };
    source.onOpen = onOpen;
    target.onOpen = onOpen;
    const app = createApp(config, {
      logger: createTestLogger(),
      connectorsFor: () => ({ source, target, clientId: (n) => `cmdb_${n}` }),
    });
    await app.start();
    await until(() => app.status()[0]!.workers[0]!.subscribed, "subscribed");
    source.last("source").deliver(1, JSON.stringify({ host: "web1" }));
    await until(() => source.last("source").acks.length === 1, "copied and acked");

    await app.stop();
    await app.stopped;
    assert.deepEqual(events, [
      "open source: livez 200",
      "open target: livez 200",
      "close source: livez 200, state saved false",
      "close target: livez 200, state saved false",
    ]);
    assert.match(readFileSync(stateFile, "utf8"), /web1/, "saved after the topic stopped");
    assert.equal(typeof (await livez(port())), "string", "HTTP is closed after stop");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("app - status lists every topic with its workers; stop() twice is one stop", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-app-"));
  try {
    const config = configIn(dir);
    const app = createApp(config, {
      logger: createTestLogger(),
      connectorsFor: () => ({
        source: new FakeConnector(),
        target: new FakeConnector(),
        clientId: (n) => `cmdb_${n}`,
      }),
    });
    await app.start();
    await until(() => app.status()[0]!.workers[0]!.subscribed, "subscribed");
    const [status] = app.status();
    assert.equal(status?.topic, "acme.cmdb");
    assert.equal(status?.workers[0]?.clientId, "cmdb_0");
    const first = app.stop();
    assert.equal(app.stop(), first);
    await first;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
