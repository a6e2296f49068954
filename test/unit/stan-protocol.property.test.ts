// The hand-written STAN protobuf decoders under property-based tests (fast-check). What the
// reference encoder writes (test/support/stan-reference.ts: google-protobuf) decodes to the
// values it was given, with unknown fields around them and inside a larger buffer; random and
// corrupted bytes give a value or an Error (which the session catches), in bounded time,
// holding nothing larger than the input. The reference decoder is used on valid bytes only:
// on corrupted ones it can loop forever.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AckEncoder,
  PubMsgEncoder,
  StartPositionCode,
  encodeConnectRequest,
  encodeSubscriptionRequest,
} from "../../src/stan/protocol";
import * as wire from "../../src/stan/protocol-decode";
import type { ConnectResponse, DeliveredMessage } from "../../src/stan/protocol-decode";
import { parse, reference } from "../support/stan-reference";

/** Decoding takes microseconds; far beyond this is a loop that does not end. */
const RUN_BUDGET_MS = 1_000;

// ---------------------------------------------------------------------------------------
// Valid messages: generated values and their reference encoding

/** Text of any Unicode (no lone surrogates: those are not UTF-8). */
const text = fc.string({ unit: "grapheme", maxLength: 24 });
const data = fc.oneof(
  { weight: 20, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 128, max: 40_000 }).map((n) => new Uint8Array(n)) },
);

const msgProto = fc.record({
  sequence: fc.maxSafeNat(),
  subject: text,
  reply: text,
  data,
  timestamp: fc.maxSafeNat(), // int64 on the wire; a server never sends a negative one
  redelivered: fc.boolean(),
  redeliveryCount: fc.nat({ max: 2 ** 32 - 1 }),
  crc32: fc.nat({ max: 2 ** 32 - 1 }),
});
type MsgFields = typeof msgProto extends fc.Arbitrary<infer T> ? T : never;

function encodeMsgProto(m: MsgFields): Uint8Array {
  return reference("MsgProto", {
    Sequence: m.sequence,
    Subject: m.subject,
    Reply: m.reply,
    Data: m.data,
    Timestamp: m.timestamp,
    Redelivered: m.redelivered,
    RedeliveryCount: m.redeliveryCount,
    Crc32: m.crc32,
  });
}

function varint(value: number): number[] {
  const out: number[] = [];
  for (; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) | 128);
  return [...out, value];
}

/** Fields no decoder knows (numbers from 11 up), of every wire type: they must be skipped. */
const unknownFields = fc
  .array(
    fc.record({
      field: fc.integer({ min: 11, max: 2 ** 29 - 1 }),
      wireType: fc.constantFrom(0, 1, 2, 5),
      value: fc.maxSafeNat(),
      bytes: fc.uint8Array({ minLength: 8, maxLength: 30 }),
    }),
    { maxLength: 3 },
  )
  .map((fields) =>
    Buffer.from(
      fields.flatMap(({ field, wireType, value, bytes }) => {
        const tag = varint(field * 8 + wireType);
        if (wireType === 0) return [...tag, ...varint(value)];
        if (wireType === 1) return [...tag, ...bytes.subarray(0, 8)];
        if (wireType === 5) return [...tag, ...bytes.subarray(0, 4)];
        return [...tag, ...varint(bytes.length), ...bytes];
      }),
    ),
  );

/** Bytes in a buffer of their own (not Node's shared pool), so a view of them is recognisable. */
function own(...parts: Uint8Array[]): Buffer {
  const out = Buffer.alloc(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** A MsgProto encoding with unknown fields before and after it, and what it holds. */
const framedMsgProto = fc
  .tuple(unknownFields, msgProto, unknownFields)
  .map(([before, m, after]) => ({ m, bytes: own(before, encodeMsgProto(m), after) }));

/**
 * What a decoder returned holds nothing it did not find in `input[start, end)`: payloads are
 * views of that range, strings have at most one UTF-16 unit per byte of it, and numbers come
 * from varints of at most 10 bytes (below 2^70).
 */
function assertWithin(value: unknown, input: Buffer, start = 0, end = input.length): void {
  let chars = 0;
  const visit = (v: unknown): void => {
    if (typeof v === "string") chars += v.length;
    else if (typeof v === "number") assert.ok(v >= -1 && v < 2 ** 70, `number ${v}`);
    else if (Buffer.isBuffer(v) && v.length > 0) {
      assert.equal(v.buffer, input.buffer, "a payload is a view of the input, not a copy");
      const from = v.byteOffset - input.byteOffset;
      assert.ok(from >= start && from + v.length <= end, `view [${from}, +${v.length})`);
    } else if (typeof v === "object" && v !== null) Object.values(v).forEach(visit);
  };
  visit(value);
  assert.ok(chars <= end - start, `${chars} characters from ${end - start} bytes`);
}

/** Valid encodings of every message the decoders see, and of the requests we send. */
const validEncoding: fc.Arbitrary<Uint8Array> = fc.oneof(
  framedMsgProto.map((f) => f.bytes),
  fc.tuple(text, text).map(([Guid, Error]) => reference("PubAck", { Guid, Error })),
  fc
    .tuple(text, text)
    .map(([AckInbox, Error]) => reference("SubscriptionResponse", { AckInbox, Error })),
  fc
    .tuple(text, fc.nat())
    .map(([subject, guid]) =>
      new PubMsgEncoder("c", new Uint8Array(16)).encode(guid, subject, Buffer.from(subject)),
    ),
  fc.tuple(text, fc.maxSafeNat()).map(([subject, seq]) => new AckEncoder(subject).encode(seq)),
  fc.tuple(text, fc.nat()).map(([clientId, n]) =>
    encodeSubscriptionRequest({
      clientId,
      subject: clientId,
      inbox: "_INBOX.x",
      maxInFlight: n,
      ackWaitSeconds: 30,
      startPosition: StartPositionCode.SequenceStart,
      startSequence: n,
    }),
  ),
  fc.tuple(text, fc.nat()).map(([clientId, n]) =>
    encodeConnectRequest({
      clientId,
      heartbeatInbox: clientId,
      connId: new Uint8Array(16),
      pingIntervalSeconds: n,
      pingMaxOut: n,
    }),
  ),
);

// ---------------------------------------------------------------------------------------
// Hostile input

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Pieces a broken or hostile server might send inside a message. */
const hostilePiece: fc.Arbitrary<number[]> = fc.oneof(
  // A varint of more than 10 bytes (11 to 200), after the tag of a number field or not.
  fc
    .tuple(
      fc.constantFrom([], [0x08], [0x28], [0x30], [0x40], [0x48], [0x50]),
      fc.integer({ min: 10, max: 199 }),
    )
    .map(([tag, n]) => [...tag, ...new Array<number>(n).fill(0x80), 1]),
  // A length far beyond the message, up to 2^64.
  fc
    .tuple(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 7, max: 64 }))
    .map(([field, bits]) => [...varint(field * 8 + 2), ...varint(2 ** bits)]),
  // Group and reserved wire types.
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 29 - 1 }), fc.constantFrom(3, 4, 6, 7))
    .map(([field, wireType]) => varint(field * 8 + wireType)),
  // A known field with another wire type: sequence as bytes, data as a varint, ...
  fc
    .constantFrom([0x0a, 0x01, 0x31], [0x20, 0x05], [0x09, 1, 2, 3], [0x2d, 1], [0x32, 0x00])
    .map((bytes) => [...bytes]),
  fc.uint8Array({ maxLength: 16 }).map((a) => [...a]),
);

/** A valid encoding with bytes overwritten, a hostile piece put in, and its end cut off. */
const corrupted = fc
  .record({
    bytes: validEncoding,
    overwrite: fc.array(fc.tuple(fraction, fc.nat(255)), { maxLength: 4 }),
    piece: fc.option(fc.tuple(fraction, hostilePiece), { nil: undefined }),
    keep: fc.oneof(fc.constant(1), fraction),
  })
  .map(({ bytes, overwrite, piece, keep }) => {
    const out = [...bytes];
    for (const [at, value] of overwrite) out[Math.floor(at * out.length)] = value;
    if (piece !== undefined) out.splice(Math.floor(piece[0] * out.length), 0, ...piece[1]);
    return own(Uint8Array.from(out.slice(0, Math.ceil(keep * out.length))));
  });

/** Random bytes, random fields of hostile pieces, and corrupted valid encodings. */
const hostileInput: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 100 }).map((a) => own(a)),
  fc.array(hostilePiece, { maxLength: 6 }).map((pieces) => own(Uint8Array.from(pieces.flat()))),
  corrupted,
);

type Outcome = { value: unknown } | { error: string };

/** What a decoder made of the input: a value, or the message of the Error it threw. */
function outcomeOf(decode: () => unknown): Outcome {
  const started = performance.now();
  try {
    return { value: decode() };
  } catch (err) {
    assert.ok(err instanceof Error, `threw ${String(err)}, not an Error`);
    return { error: err.message };
  } finally {
    const ms = performance.now() - started;
    assert.ok(ms < RUN_BUDGET_MS, `decoding took ${ms.toFixed(0)} ms`);
  }
}

// ---------------------------------------------------------------------------------------
// Properties

test("stan decode (property) - a MsgProto from the reference decodes to its sequence, payload, timestamp and redelivered flag, unknown fields skipped", () => {
  fc.assert(
    fc.property(framedMsgProto, ({ m, bytes }) => {
      const decoded = wire.decodeMsgProto(bytes);
      const expected: DeliveredMessage = {
        sequence: m.sequence,
        data: Buffer.from(m.data),
        timestampNs: m.timestamp,
        redelivered: m.redelivered,
      };
      assert.deepEqual(decoded, expected); // payloads compare by their bytes
      assertWithin(decoded, bytes);
    }),
    { numRuns: 300 },
  );
});

test("stan decode (property) - a MsgProto or PubAck inside a larger buffer is decoded from [start, end) alone, the bytes around it never read", () => {
  const framed = fc.record({
    before: fc.uint8Array({ maxLength: 64 }),
    message: fc.oneof(
      framedMsgProto.map((f) => f.bytes),
      corrupted,
    ),
    after: fc.uint8Array({ maxLength: 64 }),
  });
  fc.assert(
    fc.property(framed, ({ before, message, after }) => {
      const buf = own(before, message, after);
      const start = before.length;
      const end = start + message.length;
      for (const decode of [wire.decodeMsgProto, wire.decodePubAck]) {
        const inside = outcomeOf(() => decode(buf, start, end));
        assert.deepEqual(
          inside,
          outcomeOf(() => decode(own(message))),
        );
        if ("value" in inside) assertWithin(inside.value, buf, start, end);
      }
    }),
    { numRuns: 500 },
  );
});

test("stan decode (property) - PubAck, ConnectResponse, SubscriptionResponse and error responses from the reference decode to what was encoded", () => {
  const guid = fc.oneof(fc.integer({ min: 0, max: 10 ** 15 - 1 }).map(String), text);
  const int32 = fc.nat({ max: 2 ** 31 - 1 }); // a server never sends a negative one
  const connect = fc.record({
    pubPrefix: text,
    subRequests: text,
    unsubRequests: text,
    closeRequests: text,
    error: text,
    subCloseRequests: text,
    pingRequests: text,
    pingIntervalSeconds: int32,
    pingMaxOut: int32,
    protocol: int32,
    publicKey: text,
  });
  fc.assert(
    fc.property(guid, text, text, connect, unknownFields, (g, error, inbox, c, unknown) => {
      const expectedGuid = /^[0-9]{1,15}$/.test(g) ? Number(g) : -1;
      const ack = own(reference("PubAck", { Guid: g, Error: error }), unknown);
      assert.deepEqual(wire.decodePubAck(ack), { guid: expectedGuid, error });
      const sub = own(
        unknown,
        reference("SubscriptionResponse", { AckInbox: inbox, Error: error }),
      );
      assert.deepEqual(wire.decodeSubscriptionResponse(sub), { ackInbox: inbox, error });
      for (const name of ["PingResponse", "CloseResponse"]) {
        assert.equal(
          wire.decodeErrorResponse(own(reference(name, { Error: error }), unknown)),
          error,
        );
      }
      const bytes = reference("ConnectResponse", {
        PubPrefix: c.pubPrefix,
        SubRequests: c.subRequests,
        UnsubRequests: c.unsubRequests,
        CloseRequests: c.closeRequests,
        Error: c.error,
        SubCloseRequests: c.subCloseRequests,
        PingRequests: c.pingRequests,
        PingInterval: c.pingIntervalSeconds,
        PingMaxOut: c.pingMaxOut,
        Protocol: c.protocol,
        PublicKey: c.publicKey,
      });
      const expected: ConnectResponse = {
        pubPrefix: c.pubPrefix,
        subRequests: c.subRequests,
        closeRequests: c.closeRequests,
        error: c.error,
        pingRequests: c.pingRequests,
        pingIntervalSeconds: c.pingIntervalSeconds,
        pingMaxOut: c.pingMaxOut,
        protocol: c.protocol,
      };
      assert.deepEqual(wire.decodeConnectResponse(own(bytes, unknown)), expected);
    }),
    { numRuns: 300 },
  );
});

test("stan decode (property) - two MsgProto encodings one after the other decode as the reference merges them", () => {
  fc.assert(
    fc.property(msgProto, msgProto, (a, b) => {
      const bytes = own(encodeMsgProto(a), encodeMsgProto(b));
      const merged = parse("MsgProto", bytes);
      assert.deepEqual(wire.decodeMsgProto(bytes), {
        sequence: merged("Sequence"),
        data: Buffer.from(merged("Data_asU8") as Uint8Array),
        timestampNs: merged("Timestamp"),
        redelivered: merged("Redelivered"),
      });
    }),
    { numRuns: 200 },
  );
});

const decoders = {
  MsgProto: (b: Buffer) => wire.decodeMsgProto(b),
  PubAck: (b: Buffer) => wire.decodePubAck(b),
  ConnectResponse: wire.decodeConnectResponse,
  SubscriptionResponse: wire.decodeSubscriptionResponse,
  ErrorResponse: wire.decodeErrorResponse,
};

test("stan decode (property) - every decoder on random or corrupted bytes returns or throws an Error, in bounded time, holding nothing larger than its input", () => {
  fc.assert(
    fc.property(hostileInput, (input) => {
      for (const [name, decode] of Object.entries(decoders)) {
        const outcome = outcomeOf(() => decode(input));
        if ("value" in outcome) assert.doesNotThrow(() => assertWithin(outcome.value, input), name);
      }
    }),
    { numRuns: 1000 },
  );
});
