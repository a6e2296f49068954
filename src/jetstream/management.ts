/**
 * Stream management on the official client (@nats-io/jetstream): check or create the stream at
 * start, read its last copy (where an ordered chain continues), start an empty stream at a given
 * sequence (align_sequences). Not on the per-message path.
 */
import { JetStreamApiError, StorageType, jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import type { Authenticator, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { JetStreamTargetConfig } from "../config/types";
import { ReplicatorError, errorText } from "../errors";
import type { Endpoint } from "../nats/endpoint";
import { subjectMatches } from "./subjects";

/** A stream that is not there or not usable as configured: an operator has to act. */
export class StreamProblem extends ReplicatorError {
  override readonly name = "StreamProblem";
}

/** The stream could not be checked (server unreachable, JetStream off, denied): retriable. */
export class StreamCheckFailed extends ReplicatorError {
  override readonly name = "StreamCheckFailed";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

export interface Management {
  jsm: JetStreamManager;
  close(): Promise<void>;
}

const STREAM_NOT_FOUND = 10059;
const NS_PER_MS = 1_000_000;

/** One management connection (no reconnect: each check is one attempt). */
export async function openManagement(
  endpoint: Endpoint,
  name: string,
  timeoutMs: number,
): Promise<Management> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: endpoint.url,
      name,
      timeout: timeoutMs,
      reconnect: false,
      noAsyncTraces: true,
      ...credentials(endpoint),
      ...(endpoint.tls !== undefined ? { tls: { ...endpoint.tls } } : {}),
    });
  } catch (err) {
    throw new StreamCheckFailed(`cannot connect to ${endpoint.url}: ${errorText(err)}`, {
      cause: err,
    });
  }
  try {
    return { jsm: await jetstreamManager(nc, { timeout: timeoutMs }), close: () => nc.close() };
  } catch (err) {
    await nc.close();
    throw new StreamCheckFailed(explain(err, endpoint.url), { cause: err });
  }
}

/**
 * The stream's info, after checking that it exists and captures `subject`; created first when
 * it is missing and `create` is set. An existing stream's settings are never changed.
 */
export async function ensureStream(
  m: Management,
  cfg: JetStreamTargetConfig,
  url: string,
): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await m.jsm.streams.info(cfg.stream);
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NOT_FOUND) {
      throw new StreamCheckFailed(explain(err, url), { cause: err });
    }
    if (cfg.create === undefined) {
      throw new StreamProblem(
        `stream ${cfg.stream} does not exist on ${url} (create it with subject ${cfg.subject}, or set jetstream.create: true)`,
      );
    }
    info = await createStream(m, cfg, url);
  }
  const subjects = info.config.subjects ?? [];
  if (!subjects.some((pattern) => subjectMatches(pattern, cfg.subject))) {
    throw new StreamProblem(
      `stream ${cfg.stream} does not capture subject ${cfg.subject} (its subjects: ${subjects.join(", ") || "none"})`,
    );
  }
  return info;
}

async function createStream(
  m: Management,
  cfg: JetStreamTargetConfig,
  url: string,
): Promise<StreamInfo> {
  const c = cfg.create;
  try {
    return await m.jsm.streams.add({
      name: cfg.stream,
      subjects: [cfg.subject],
      storage: StorageType.File,
      num_replicas: c?.replicas ?? 1,
      duplicate_window: (c?.duplicateWindowMs ?? 120_000) * NS_PER_MS,
      ...(c?.maxAgeMs !== undefined ? { max_age: c.maxAgeMs * NS_PER_MS } : {}),
      ...(c?.maxBytes !== undefined ? { max_bytes: c.maxBytes } : {}),
      ...(c?.maxMsgs !== undefined ? { max_msgs: c.maxMsgs } : {}),
      description: "Copies of a NATS Streaming channel, written by stream-replicator",
    });
  } catch (err) {
    throw new StreamProblem(`cannot create stream ${cfg.stream} on ${url}: ${explain(err, url)}`, {
      cause: err,
    });
  }
}

/**
 * The source sequence of the stream's last message, from its Nats-Streaming-Sequence header, or
 * -1 when the stream is empty. Its message id must be this topic's (`idPrefix`): otherwise
 * someone else writes to the stream and an ordered chain cannot hold.
 */
export async function lastCopiedSequence(
  m: Management,
  info: StreamInfo,
  idPrefix: string,
): Promise<number> {
  if (info.state.messages === 0) return -1;
  const last = await m.jsm.streams.getMessage(info.config.name, { seq: info.state.last_seq });
  const id = last?.header?.get("Nats-Msg-Id") ?? "";
  const sequence = Number(last?.header?.get("Nats-Streaming-Sequence") ?? NaN);
  if (!id.startsWith(idPrefix) || !Number.isSafeInteger(sequence)) {
    throw new StreamProblem(
      `the last message of stream ${info.config.name} (sequence ${info.state.last_seq}) is not a copy from this topic (message id "${id}"); set jetstream.only_writer: false when others write to the stream`,
    );
  }
  return sequence;
}

/** Starts an empty stream at `sequence`: its next message gets that stream sequence. */
export async function startStreamAt(m: Management, stream: string, sequence: number) {
  const info = await m.jsm.streams.info(stream);
  if (info.state.messages > 0 || info.state.last_seq >= sequence) return;
  await m.jsm.streams.purge(stream, { seq: sequence });
}

/** The official client's options for an endpoint's credentials. */
export function credentials(e: Endpoint): { user?: string; pass?: string; token?: string } & {
  authenticator?: Authenticator;
} {
  const a = e.auth;
  if (a.user !== undefined) return { user: a.user, pass: a.pass ?? "" };
  if (a.token !== undefined) return { token: a.token };
  const sign = a.signNonce;
  if (sign === undefined) return {};
  const sig = (nonce?: string): string =>
    nonce === undefined ? "" : sign(Buffer.from(nonce, "utf8")).toString("base64url");
  return a.userJwt !== undefined
    ? { authenticator: (nonce) => ({ jwt: a.userJwt ?? "", sig: sig(nonce) }) }
    : { authenticator: (nonce) => ({ nkey: a.nkey ?? "", sig: sig(nonce) }) };
}

/** Management failures in an operator's words. */
function explain(err: unknown, url: string): string {
  const text = errorText(err);
  if (/jetstream is not enabled|no responders/i.test(text)) {
    return `JetStream is not enabled on ${url} (a plain NATS server, or -js missing)`;
  }
  if (/permissions? violation/i.test(text)) return `permission denied on ${url}: ${text}`;
  return text;
}
