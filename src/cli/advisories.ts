/**
 * `stream-replicator advisories --topic NAME`: prints a topic's advisories as they come, one
 * readable line each (or `--json`), from wherever the topic sends them: a NATS Streaming channel
 * on the source or target cluster, or a JetStream subject when the target is JetStream. `--since`
 * and `--all` show past events too; `--filter` keeps those whose value matches. Ctrl-C ends it.
 */
import { randomBytes } from "node:crypto";
import { loadConfig } from "../config";
import type { TopicConfig } from "../config";
import { ConfigError } from "../errors";
import { targetEndpoint } from "../jetstream/connector";
import { watchSubject } from "../jetstream/watch";
import type { StartPosition } from "../replicator/ports";
import { createStanConnector } from "../stan/connector";
import { watchChannel } from "../stan/watch";
import { advisoryLine, advisoryValue } from "./advisory-line";
import type { AdvisoriesArgs } from "./args";
import type { CliIo } from "./io";

export async function runAdvisories(args: AdvisoriesArgs, io: CliIo): Promise<number> {
  const config = loadConfig({ file: args.config, topics: [args.topic] });
  const topic = config.topics[0];
  if (topic === undefined) return 2;
  const advisory = topic.advisory;
  if (advisory === undefined) {
    throw new ConfigError(
      `config ${config.file}: topics.${topic.key}.advisory: not set, so the topic publishes no advisories`,
    );
  }
  const colour = process.stdout.isTTY === true && !args.json;
  const print = (data: Buffer): void => {
    const text = data.toString("utf8");
    if (args.filter && !args.filter.test(advisoryValue(text) ?? "")) return;
    io.out(args.json ? `${text}\n` : `${advisoryLine(text, colour)}\n`);
  };
  const stop = waitForInterrupt();
  const where =
    advisory.cluster === "target" && topic.target === "jetstream" ? "jetstream" : "stan";
  io.err(
    `watching ${advisory.target} (${describe(topic, advisory.cluster, where)}); Ctrl-C ends\n`,
  );
  if (where === "jetstream") {
    const watch = await watchSubject(targetEndpoint(topic), advisory.target, args.from, print);
    await Promise.race([stop, watch.done]);
    await watch.close();
    return 0;
  }
  const clientId = args.name ?? `${topic.name}_advisories_${randomBytes(4).toString("hex")}`;
  const session = await createStanConnector(topic, advisory.cluster).openAs(clientId);
  await watchChannel(session, advisory.target, startOf(args.from), print);
  const ended = session.ended.then((end) => end.reason !== "requested");
  const lost = await Promise.race([stop.then(() => false), ended]);
  await session.close();
  if (lost) io.err("the connection to the cluster was lost\n");
  return lost ? 1 : 0;
}

function startOf(from: AdvisoriesArgs["from"]): StartPosition {
  if (from.kind === "all") return { kind: "first" };
  if (from.kind === "since") return { kind: "delta", ms: from.ms };
  return { kind: "new" };
}

function describe(topic: TopicConfig, cluster: "source" | "target", where: string): string {
  if (where === "jetstream") return `JetStream subject on ${topic.targetUrls[0] ?? ""}`;
  const id = cluster === "source" ? topic.sourceClusterId : topic.targetClusterId;
  return `channel on the ${cluster} cluster ${id}`;
}

/** Resolves on the first SIGINT or SIGTERM. */
function waitForInterrupt(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
