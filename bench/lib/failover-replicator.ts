/**
 * The replicator under test in bench/failover.ts: any checkout's src/main.ts run with tsx
 * (this repository's node_modules serve a checkout without its own), its health and counters.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { metricSum } from "../../test/support/replication-helpers";
import { getFreePort, makeTempDir } from "../../test/support/servers";
import { waitFor } from "../../test/support/stan-client";
import { REPO } from "./contenders";
import { startChild } from "./proc";
import type { Child } from "./proc";

const TSX = pathToFileURL(require.resolve("tsx")).href;

export interface Replicator {
  /** Checkout whose src/main.ts runs (with tsx). */
  dir: string;
  /** Its commit, e.g. "be4a324" or "8af702a+dirty". */
  version: string;
}

/** The short commit of a checkout, with "+dirty" when its src/ has uncommitted changes. */
export function versionOf(dir: string, git: (args: string[]) => string): string {
  const commit = git(["-C", dir, "rev-parse", "--short", "HEAD"]).trim();
  const dirty = git(["-C", dir, "status", "--porcelain", "--", "src"]).trim() !== "";
  return dirty ? `${commit}+dirty` : commit;
}

export async function startReplicator(
  replicator: Replicator,
  source: { url: string; clusterId: string },
  channel: string,
  name: string,
  targetUrls: string,
): Promise<{ child: Child; port: number }> {
  const port = await getFreePort();
  const dir = makeTempDir("failover");
  const file = path.join(dir, "sr.yaml");
  // Ordered, publish_timeout and everything else at their defaults.
  const topic = {
    topic: channel,
    name,
    source_url: source.url,
    source_cluster_id: source.clusterId,
    target_url: targetUrls,
    target_cluster_id: "dc2",
  };
  const config = {
    log_level: "info",
    http_host: "127.0.0.1",
    http_port: port,
    topics: { [name]: topic },
  };
  writeFileSync(file, stringify(config));
  const main = path.join(replicator.dir, "src", "main.ts");
  // This repository's node_modules serve a checkout without its own.
  const child = startChild(
    `replicator ${replicator.version}`,
    process.execPath,
    ["--import", TSX, main, "--config", file],
    {
      cwd: replicator.dir,
      env: { ...process.env, NODE_PATH: path.join(REPO, "node_modules") },
    },
  );
  return { child, port };
}

export async function waitHealthy(port: number, child: Child, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (child.exited()) throw new Error(`replicator exited: ${child.output().slice(-2000)}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(1000),
      }).catch(() => undefined);
      return res?.status === 200;
    },
    { timeoutMs, message: "/healthz 200" },
  );
}

/** The counters that tell how the replicator got through the fault (0 where a version has none). */
export function figures(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (key: string, metric: string, labels: Record<string, string> = {}): void => {
    out[key] = metricSum(text, metric, { name, ...labels });
  };
  add("copied", "stream_replicator_copied_msgs");
  add("duplicatePublishes", "stream_replicator_duplicate_publishes_total");
  add("redelivered", "stream_replicator_redelivered_msgs_total");
  add("publishPauses", "stream_replicator_publish_pauses_total");
  for (const reason of ["timeout", "no_responders", "connection_closed", "rejected", "error"]) {
    add(`publishErrors.${reason}`, "stream_replicator_publish_errors_total", { reason });
  }
  add("reconnections", "stream_replicator_connection_reconnections");
  return out;
}
