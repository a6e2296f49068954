/**
 * A JetStream PubAck: `{"stream":"S","seq":5}`, `{"stream":"S","seq":5,"duplicate":true}`, or
 * `{"error":{"code":400,"err_code":10070,"description":"wrong last msg ID: ..."}}`. The common
 * case is read without JSON.parse; an error is parsed for its code and text.
 */
export type PubAckResult =
  | { kind: "stored" }
  | { kind: "duplicate" }
  | { kind: "error"; code: number; errCode: number; description: string };

const ERROR = Buffer.from('"error"');
const DUPLICATE = Buffer.from('"duplicate":true');
const STREAM = Buffer.from('"stream"');

/** JetStream error codes the replicator tells apart. */
export const JS_ERR = {
  /** Nats-Expected-Last-Msg-Id did not match: a gap would have been stored. */
  wrongLastMsgId: 10070,
  /** The message is larger than the stream accepts. */
  messageTooLarge: 10054,
} as const;

export function parsePubAck(buf: Buffer, start: number, end: number): PubAckResult {
  const view = buf.subarray(start, end);
  if (view.indexOf(ERROR) < 0) {
    if (view.indexOf(STREAM) < 0) return malformed(view);
    return view.indexOf(DUPLICATE) >= 0 ? { kind: "duplicate" } : { kind: "stored" };
  }
  try {
    const parsed = JSON.parse(view.toString("utf8")) as {
      error?: { code?: number; err_code?: number; description?: string };
    };
    const e = parsed.error ?? {};
    return {
      kind: "error",
      code: e.code ?? 0,
      errCode: e.err_code ?? 0,
      description: e.description ?? "unknown JetStream error",
    };
  } catch {
    return malformed(view);
  }
}

function malformed(view: Buffer): PubAckResult {
  const text = view.toString("utf8", 0, Math.min(view.length, 80));
  return { kind: "error", code: 0, errCode: 0, description: `not a JetStream ack: ${text}` };
}
