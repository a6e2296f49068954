/**
 * One topic (`topics.<name>`) as the typed TopicConfig: its block validated, the rules across
 * its keys checked (topic-rules.ts), its advisory, tls and auth blocks loaded, and what it
 * inherits from the top level when it has no block of its own.
 */
import { durationMs } from "./duration";
import { splitNatsUrls } from "./formats";
import type { RawAdvisory } from "./schema/advisory";
import type { RawJetStream } from "./schema/jetstream";
import { jetStreamSchema } from "./schema/jetstream";
import { advisorySchema } from "./schema/advisory";
import type { RawSettings } from "./schema/settings";
import type { RawTopic } from "./schema/topic";
import { topicSchema } from "./schema/topic";
import { loadAuth } from "./security";
import type { ReadFile } from "./security";
import { loadTls } from "./tls-paths";
import {
  checkJetStreamRules,
  checkTopicRules,
  defaultDuplicateWindowMs,
  durableName,
  isQueued,
  queueGroup,
  startPosition,
} from "./topic-rules";
import type {
  AdvisoryConfig,
  JetStreamTargetConfig,
  NatsAuth,
  TlsConfig,
  TopicConfig,
} from "./types";
import { isMapping, kindOf, validateBlock } from "./validate";
import type { Fail, Mapping } from "./validate";

/** What a topic inherits from the top level when it has no block of its own. */
export interface TopicDefaults {
  tls?: TlsConfig;
  sourceAuth?: NatsAuth;
  targetAuth?: NatsAuth;
}

/** The top-level tls, source_auth and target_auth blocks; `fail` takes the block's name. */
export function loadTopicDefaults(
  settings: RawSettings,
  readFile: ReadFile,
  fail: (block: string) => Fail,
): TopicDefaults {
  return {
    ...(settings.tls !== null ? { tls: loadTls(settings.tls, readFile, fail("tls")) } : {}),
    ...authEntry("sourceAuth", settings.source_auth, readFile, fail("source_auth")),
    ...authEntry("targetAuth", settings.target_auth, readFile, fail("target_auth")),
  };
}

/** `fail` takes a key relative to the topic, "" for the topic itself. */
export function loadTopic(
  name: string,
  value: unknown,
  defaults: TopicDefaults,
  readFile: ReadFile,
  fail: Fail,
): TopicConfig {
  if (value !== null && !isMapping(value)) {
    fail("", `is ${kindOf(value)}, not a mapping of topic settings`);
  }
  const given = (value ?? {}) as Mapping;
  const t = validateBlock<RawTopic>(topicSchema, given, fail);
  checkTopicRules(t, given, fail);

  const advisory = t.advisory === null ? undefined : loadAdvisory(t.advisory, fail);
  const tls =
    t.tls === null ? defaults.tls : loadTls(t.tls, readFile, (k, p) => fail(`tls.${k}`, p));
  const auth: Pick<TopicDefaults, "sourceAuth" | "targetAuth"> = {
    ...(t.source_auth === null
      ? pick(defaults, "sourceAuth")
      : authEntry("sourceAuth", t.source_auth, readFile, (k, p) => fail(`source_auth.${k}`, p))),
    ...(t.target_auth === null
      ? pick(defaults, "targetAuth")
      : authEntry("targetAuth", t.target_auth, readFile, (k, p) => fail(`target_auth.${k}`, p))),
  };
  const durable = durableName(name, t, fail);
  const jetstream = t.jetstream === null ? undefined : loadJetStream(t, t.jetstream, fail);
  return {
    key: name,
    topic: t.topic,
    targetTopic: t.target_topic ?? t.topic,
    sourceUrls: splitNatsUrls(t.source_url),
    sourceClusterId: t.source_cluster_id,
    targetUrls: splitNatsUrls(t.target_url),
    target: t.target,
    targetClusterId: t.target_cluster_id ?? "",
    ...(jetstream !== undefined ? { jetstream } : {}),
    workers: t.workers,
    queued: isQueued(t),
    queueGroup: queueGroup(t),
    name: durable,
    ...(t.inspect !== null ? { inspect: t.inspect } : {}),
    ...(t.update_flag !== null ? { updateFlag: t.update_flag } : {}),
    ...(t.age !== null ? { ageMs: durationMs(t.age) } : {}),
    ...(t.monitor !== null && t.monitor !== 0 ? { monitor: t.monitor } : {}),
    ...(advisory !== undefined ? { advisory } : {}),
    ...(tls !== undefined ? { tls } : {}),
    disableSourceTls: t.disable_source_tls,
    disableTargetTls: t.disable_target_tls,
    ...auth,
    startAt: startPosition(t),
    maxInFlight: t.max_in_flight,
    ackWaitMs: durationMs(t.ack_wait),
    publishTimeoutMs: durationMs(t.publish_timeout),
    publishPauseAfterMs: durationMs(t.publish_pause_after),
    ...(t.source_monitor_url !== null ? { sourceMonitorUrl: t.source_monitor_url } : {}),
  };
}

function loadAdvisory(block: Mapping, fail: Fail): AdvisoryConfig {
  const a = validateBlock<RawAdvisory>(advisorySchema, block, (k, p) => fail(`advisory.${k}`, p));
  return {
    target: a.target,
    cluster: a.cluster,
    ageMs: durationMs(a.age),
    ...(a.interval !== null ? { intervalMs: durationMs(a.interval) } : {}),
  };
}

function loadJetStream(t: RawTopic, block: Mapping, fail: Fail): JetStreamTargetConfig {
  const js = validateBlock<RawJetStream>(jetStreamSchema, block, (k, p) =>
    fail(`jetstream.${k}`, p),
  );
  checkJetStreamRules(t, js, fail);
  return {
    stream: js.stream,
    subject: js.subject ?? t.target_topic ?? t.topic,
    ...(js.create
      ? {
          create: {
            replicas: js.replicas,
            ...(js.max_age !== null ? { maxAgeMs: durationMs(js.max_age) } : {}),
            ...(js.max_bytes !== null ? { maxBytes: js.max_bytes } : {}),
            ...(js.max_msgs !== null ? { maxMsgs: js.max_msgs } : {}),
            duplicateWindowMs:
              js.duplicate_window !== null
                ? durationMs(js.duplicate_window)
                : defaultDuplicateWindowMs(t),
          },
        }
      : {}),
    alignSequences: js.align_sequences,
    onlyWriter: js.only_writer,
  };
}

function pick<K extends keyof TopicDefaults>(defaults: TopicDefaults, key: K): TopicDefaults {
  return defaults[key] === undefined ? {} : { [key]: defaults[key] };
}

/** `{ [name]: auth }` for a given source_auth / target_auth block, `{}` otherwise. */
function authEntry<K extends "sourceAuth" | "targetAuth">(
  name: K,
  block: Mapping | null,
  readFile: ReadFile,
  fail: Fail,
): { [P in K]?: NatsAuth } {
  if (block === null) return {};
  const auth = loadAuth(block, readFile, fail);
  return auth === undefined ? {} : ({ [name]: auth } as { [P in K]?: NatsAuth });
}
