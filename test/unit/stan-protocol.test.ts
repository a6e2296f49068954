// The hand-written STAN protobuf codec, checked against an independent implementation: the
// google-protobuf classes generated from the same .proto that node-nats-streaming ships.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AckEncoder,
  PubMsgEncoder,
  StartPositionCode,
  encodeCloseRequest,
  encodeConnectRequest,
  encodePing,
  encodeSubscriptionRequest,
} from "../../src/stan/protocol";
import {
  decodeConnectResponse,
  decodeErrorResponse,
  decodeMsgProto,
  decodePubAck,
  decodeSubscriptionResponse,
} from "../../src/stan/protocol-decode";
import { describeConnectError } from "../../src/stan/connect-errors";
import { parse, reference } from "../support/stan-reference";

const connId = Buffer.from("0123456789abcdef0123456789abcdef", "hex");

test("protocol - a PubMsg decodes with the reference codec: ids, subject, payload byte-exact", () => {
  const encoder = new PubMsgEncoder("repl_1", connId);
  const payloads = [
    Buffer.alloc(0),
    Buffer.from([0, 255, 128, 10, 13]),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.alloc(200_000, 7), // a three-byte length varint
  ];
  for (const [i, data] of payloads.entries()) {
    const guid = [1, 9, 10, 123_456_789_012][i] ?? 0;
    const m = parse("PubMsg", encoder.encode(guid, "dc1.registrations.é", data));
    assert.equal(m("ClientId"), "repl_1");
    assert.equal(m("Guid"), String(guid));
    assert.equal(m("Subject"), "dc1.registrations.é");
    assert.deepEqual(Buffer.from(m("Data_asU8") as Uint8Array), data);
    assert.deepEqual(Buffer.from(m("ConnId_asU8") as Uint8Array), connId);
  }
});

test("protocol - an Ack carries the subject and sequences up to 2^53", () => {
  const encoder = new AckEncoder("orders");
  for (const sequence of [1, 127, 128, 16_384, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const m = parse("Ack", encoder.encode(sequence));
    assert.equal(m("Subject"), "orders");
    assert.equal(Number(m("Sequence")), sequence);
  }
});

test("protocol - ConnectRequest, SubscriptionRequest, Ping and CloseRequest match the reference", () => {
  const connect = parse(
    "ConnectRequest",
    encodeConnectRequest({
      clientId: "c",
      heartbeatInbox: "_INBOX.hb",
      connId,
      pingIntervalSeconds: 5,
      pingMaxOut: 10,
    }),
  );
  assert.equal(connect("ClientId"), "c");
  assert.equal(connect("HeartbeatInbox"), "_INBOX.hb");
  assert.equal(connect("Protocol"), 1);
  assert.equal(connect("PingInterval"), 5);
  assert.equal(connect("PingMaxOut"), 10);
  const sub = parse(
    "SubscriptionRequest",
    encodeSubscriptionRequest({
      clientId: "c",
      subject: "s",
      queueGroup: "q",
      inbox: "_INBOX.x",
      maxInFlight: 1024,
      ackWaitSeconds: 30,
      durableName: "d",
      startPosition: StartPositionCode.TimeDeltaStart,
      startTimeDeltaNs: 3_600_000 * 1e6,
    }),
  );
  assert.equal(sub("QGroup"), "q");
  assert.equal(sub("MaxInFlight"), 1024);
  assert.equal(sub("AckWaitInSecs"), 30);
  assert.equal(sub("DurableName"), "d");
  assert.equal(sub("StartPosition"), StartPositionCode.TimeDeltaStart);
  assert.equal(Number(sub("StartTimeDelta")), 3_600_000 * 1e6);
  assert.deepEqual(
    Buffer.from(parse("Ping", encodePing(connId))("ConnId_asU8") as Uint8Array),
    connId,
  );
  assert.equal(parse("CloseRequest", encodeCloseRequest("c"))("ClientId"), "c");
});

test("protocol - MsgProto from the reference decodes, payload a view and timestamp in ns", () => {
  const data = Buffer.from("héllo\u0000\u00ff");
  const bytes = reference("MsgProto", {
    Sequence: 4_294_967_301,
    Subject: "orders",
    Reply: "r",
    Data: data,
    Timestamp: 1_764_000_000_123 * 1e6 + 456_789,
    Redelivered: true,
    RedeliveryCount: 3,
    Crc32: 12345,
  });
  const m = decodeMsgProto(Buffer.from(bytes));
  assert.equal(m.sequence, 4_294_967_301);
  assert.deepEqual(m.data, data);
  assert.equal(Math.floor(m.timestampNs / 1e6), 1_764_000_000_123);
  assert.equal(m.redelivered, true);
  const empty = decodeMsgProto(reference("MsgProto", { Sequence: 1 }));
  assert.equal(empty.data.length, 0);
  assert.equal(empty.redelivered, false);
});

test("protocol - responses decode, unknown fields are skipped, truncated input throws", () => {
  const response = decodeConnectResponse(
    reference("ConnectResponse", {
      PubPrefix: "_STAN.pub.x",
      SubRequests: "_STAN.sub.x",
      UnsubRequests: "_STAN.unsub.x",
      CloseRequests: "_STAN.close.x",
      SubCloseRequests: "_STAN.subclose.x",
      PingRequests: "_STAN.ping.x",
      PingInterval: 5,
      PingMaxOut: 3,
      Protocol: 1,
      PublicKey: "ignored",
    }),
  );
  assert.deepEqual(response, {
    pubPrefix: "_STAN.pub.x",
    subRequests: "_STAN.sub.x",
    closeRequests: "_STAN.close.x",
    error: "",
    pingRequests: "_STAN.ping.x",
    pingIntervalSeconds: 5,
    pingMaxOut: 3,
    protocol: 1,
  });
  assert.deepEqual(decodePubAck(reference("PubAck", { Guid: "g1" })), { guid: -1, error: "" });
  assert.deepEqual(decodePubAck(reference("PubAck", { Guid: "4711", Error: "no" })), {
    guid: 4711,
    error: "no",
  });
  assert.deepEqual(
    decodeSubscriptionResponse(reference("SubscriptionResponse", { AckInbox: "a" })),
    {
      ackInbox: "a",
      error: "",
    },
  );
  assert.equal(
    decodeErrorResponse(reference("PingResponse", { Error: "unknown clientID" })),
    "unknown clientID",
  );
  const full = reference("MsgProto", { Sequence: 9, Data: Buffer.alloc(50, 1) });
  assert.throws(() => decodeMsgProto(full.subarray(0, full.length - 10)), /truncated/);
  // Offsets into a larger buffer: the bytes after `end` (another message) are never read.
  const framed = Buffer.concat([Buffer.from("xx"), full, Buffer.from([8, 99])]);
  const inside = decodeMsgProto(framed, 2, 2 + full.length);
  assert.equal(inside.sequence, 9);
  assert.deepEqual(inside.data, Buffer.alloc(50, 1));
  assert.throws(() => decodeMsgProto(framed, 2, 2 + full.length - 10), /truncated/);
  const ack = Buffer.from(reference("PubAck", { Guid: "123" }));
  const ackFramed = Buffer.concat([ack, Buffer.from([0x12, 0x01, 0x41])]); // + error "A"
  assert.deepEqual(decodePubAck(ackFramed, 0, ack.length), { guid: 123, error: "" });
});

test("connect errors - the client's codes become sentences with what to check", () => {
  assert.match(
    describeConnectError(new Error("the server does not support a secure connection")),
    /does not support a secure connection.*disable_/,
  );
  assert.match(
    describeConnectError(new Error("no answer from _STAN.discover.dc1 within 5000 ms")),
    /no streaming server.*cluster_id/,
  );
  assert.match(
    describeConnectError(new Error("'Authorization Violation'")),
    /^Authorization Violation \(check the credentials/,
  );
  assert.match(
    describeConnectError(
      new Error(
        "80AC:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:x",
      ),
    ),
    /^the server requires a client certificate \(TLS: .*check tls\.cert/,
  );
  assert.match(
    describeConnectError(new Error("read ECONNRESET"), { tls: true }),
    /requires a client certificate.*check tls\.cert/,
  );
  assert.equal(describeConnectError(new Error("read ECONNRESET")), "read ECONNRESET");
  assert.equal(describeConnectError(new Error("something else")), "something else");
});

test("protocol - a varint over 10 bytes is an error, not a number beyond 2^64 or NaN", () => {
  // Found by stan-protocol.property.test.ts: 11 bytes gave a sequence of 1.18e21, 160 gave NaN.
  const longest = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // 2^64 - 1
  assert.equal(decodeMsgProto(Buffer.from([0x08, ...longest])).sequence, 2 ** 64);
  for (const continuations of [10, 160]) {
    const bytes = Buffer.from([0x08, ...new Array<number>(continuations).fill(0x80), 0x01]);
    assert.throws(() => decodeMsgProto(bytes), /varint longer than 10 bytes/);
    assert.throws(() => decodePubAck(Buffer.from([0x12, ...bytes.subarray(1)])), /varint/);
  }
});
