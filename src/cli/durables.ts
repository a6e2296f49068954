/**
 * `stream-replicator durables --topic NAME [--create] [--json]`: the cut-over of a channel's
 * consumers from NATS Streaming to JetStream. For every durable of the topic's channel (the
 * replicator's own excepted) it finds the channel sequence the durable would read next, the
 * stream sequence where that message was (or will be) copied, and prints, or with --create
 * creates, the JetStream pull consumer that continues there: the durable's name, its max in
 * flight as max_ack_pending, its ack wait. A durable queue group becomes one consumer its
 * members share. A durable still in use is refused: stop the consumer first.
 */
import { randomBytes } from "node:crypto";
import type { TopicConfig } from "../config";
import { loadConfig } from "../config";
import { ConfigError, errorText } from "../errors";
import { targetEndpoint, withManagement } from "../jetstream/connector";
import { consumerName, createConsumer, streamSequenceFor } from "../jetstream/cutover";
import type { ConsumerPlan } from "../jetstream/cutover";
import { createStanConnector } from "../stan/connector";
import { nextSequence, readDurables } from "../stan/durables";
import type { StanDurable } from "../stan/durables";
import type { DurablesArgs } from "./args";
import type { CliIo } from "./io";

export async function runDurables(args: DurablesArgs, io: CliIo): Promise<number> {
  const config = loadConfig({ file: args.config, topics: [args.topic] });
  const topic = config.topics[0];
  if (topic === undefined) return 2; // loadConfig refuses an unknown topic
  const fail = (key: string, problem: string): never => {
    throw new ConfigError(`config ${config.file}: topics.${topic.key}.${key}: ${problem}`);
  };
  if (topic.target !== "jetstream" || topic.jetstream === undefined) {
    fail("target", "durables moves consumers to a JetStream target (set target: jetstream)");
  }
  const monitor =
    topic.sourceMonitorUrl ??
    fail("source_monitor_url", "is needed by durables (the source server's monitoring URL)");
  const durables = (await readDurables(monitor, topic.topic)).filter((d) => d.name !== topic.name);
  if (durables.length === 0) {
    io.out(`channel ${topic.topic}: no durables besides the replicator's own\n`);
    return 0;
  }
  let failures = 0;
  for (const durable of durables) {
    try {
      const result = await moveDurable(topic, durable, args.create);
      io.out(args.json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
    } catch (err) {
      failures++;
      const error = errorText(err);
      io.out(
        args.json
          ? `${JSON.stringify({ durable: durable.name, error })}\n`
          : `durable ${durable.name}: ${error}\n`,
      );
    }
  }
  return failures > 0 ? 1 : 0;
}

interface MoveResult {
  durable: string;
  clientId: string;
  queueGroup?: string;
  channelSequence: number;
  consumer: string;
  stream: string;
  startSequence: number;
  created: boolean;
  existed: boolean;
}

async function moveDurable(
  topic: TopicConfig,
  durable: StanDurable,
  create: boolean,
): Promise<MoveResult> {
  if (!durable.offline) {
    throw new Error(`in use by client ${durable.clientId}: stop that consumer first`);
  }
  const js = topic.jetstream;
  if (js === undefined) throw new Error("no JetStream target");
  // A plain durable belongs to its client id; a queue group's to the group.
  const clientId = durable.queueGroup
    ? `${topic.name}_cutover_${randomBytes(4).toString("hex")}`
    : durable.clientId;
  const session = await createStanConnector(topic, "source").openAs(clientId);
  const next = await nextSequence(session, topic.topic, durable);
  const endpoint = targetEndpoint(topic);
  return withManagement(endpoint, `${topic.name}_cutover`, async (m) => {
    const plan: ConsumerPlan = {
      name: consumerName(durable.name),
      stream: js.stream,
      subject: js.subject,
      startSequence: await streamSequenceFor(m, js.stream, next),
      maxAckPending: Math.max(1, durable.maxInflight),
      ackWaitSeconds: Math.max(1, durable.ackWaitSeconds),
      description: `continues NATS Streaming durable ${durable.name} (client ${durable.clientId}${
        durable.queueGroup ? `, queue ${durable.queueGroup}` : ""
      }) of channel ${topic.topic} at its sequence ${next}`,
    };
    const outcome = create ? await createConsumer(m, plan) : { created: false };
    return {
      durable: durable.name,
      clientId: durable.clientId,
      ...(durable.queueGroup ? { queueGroup: durable.queueGroup } : {}),
      channelSequence: next,
      consumer: plan.name,
      stream: plan.stream,
      startSequence: plan.startSequence,
      created: outcome.created,
      existed: "existing" in outcome && outcome.existing !== undefined,
    };
  });
}

function describe(r: MoveResult): string {
  const who = `client ${r.clientId}${r.queueGroup ? `, queue ${r.queueGroup}` : ""}`;
  const what = r.created
    ? "created"
    : r.existed
      ? "already exists, left as it is"
      : "not created (add --create)";
  return `durable ${r.durable} (${who}): next channel sequence ${r.channelSequence} -> consumer ${r.consumer} on stream ${r.stream} at stream sequence ${r.startSequence}: ${what}`;
}
