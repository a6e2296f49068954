// The NATS protocol parser: whatever way the socket splits the server's bytes, the same
// messages come out, byte-exact, in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageParser, errText } from "../../src/nats/parser";

type Event =
  | {
      kind: "msg";
      sid: number;
      reply: string | undefined;
      data: string;
      headers?: { subject: string; status: number };
    }
  | { kind: "ping" | "pong" }
  | { kind: "info" | "err" | "protocolError"; text: string };

function parserFor(events: Event[]): MessageParser {
  return new MessageParser({
    msg: (sid, reply, buf, start, end, headers) =>
      events.push({
        kind: "msg",
        sid,
        reply,
        data: buf.toString("hex", start, end),
        ...(headers ? { headers } : {}),
      }),
    ping: () => events.push({ kind: "ping" }),
    pong: () => events.push({ kind: "pong" }),
    info: (text) => events.push({ kind: "info", text }),
    err: (text) => events.push({ kind: "err", text }),
    protocolError: (text) => events.push({ kind: "protocolError", text }),
  });
}

const binary = Buffer.from([0, 13, 10, 255, 77, 83, 71, 32, 13, 10]); // contains "\r\n" and "MSG "
const big = Buffer.alloc(200_000, 0x61);
const stream = Buffer.concat([
  Buffer.from('INFO {"server_id":"x","max_payload":1048576}\r\n'),
  Buffer.from("PING\r\n"),
  Buffer.from("MSG _INBOX.a.1 7 5\r\nhello\r\n"),
  Buffer.from(`MSG _STAN.sub.x 12 _INBOX.reply.9 ${binary.length}\r\n`),
  binary,
  Buffer.from("\r\n+OK\r\nPONG\r\n"),
  Buffer.from("MSG empty 3 0\r\n\r\n"),
  Buffer.from(`MSG big  4\t${big.length}\r\n`),
  big,
  Buffer.from("\r\n-ERR 'Slow Consumer'\r\n"),
]);
const expected: Event[] = [
  { kind: "info", text: '{"server_id":"x","max_payload":1048576}' },
  { kind: "ping" },
  { kind: "msg", sid: 7, reply: undefined, data: Buffer.from("hello").toString("hex") },
  { kind: "msg", sid: 12, reply: "_INBOX.reply.9", data: binary.toString("hex") },
  { kind: "pong" },
  { kind: "msg", sid: 3, reply: undefined, data: "" },
  { kind: "msg", sid: 4, reply: undefined, data: big.toString("hex") },
  { kind: "err", text: "Slow Consumer" },
];

test("nats parser - one chunk: every operation, binary payloads with CRLF inside, byte-exact", () => {
  const events: Event[] = [];
  parserFor(events).push(stream);
  assert.deepEqual(events, expected);
});

test("nats parser - split at every position of the small frames gives the same events", () => {
  const small = stream.subarray(0, stream.indexOf("MSG big"));
  const smallExpected = expected.slice(0, 6);
  for (let cut = 1; cut < small.length; cut++) {
    const events: Event[] = [];
    const parser = parserFor(events);
    parser.push(Buffer.from(small.subarray(0, cut)));
    parser.push(Buffer.from(small.subarray(cut)));
    assert.deepEqual(events, smallExpected, `cut at ${cut}`);
  }
});

test("nats parser - a large payload in 1-byte-to-64-KiB chunks gives the same events", () => {
  for (const size of [1, 7, 1000, 65536]) {
    const events: Event[] = [];
    const parser = parserFor(events);
    for (let at = 0; at < stream.length; at += size) {
      parser.push(Buffer.from(stream.subarray(at, at + size)));
    }
    assert.deepEqual(events, expected, `chunks of ${size}`);
  }
});

test("nats parser - garbage is a protocol error once, and nothing after it is parsed", () => {
  const tooBig = `MSG a 1 ${64 * 1024 * 1024 + 1}\r\n`; // never allocated
  for (const bad of [
    "HELLO world\r\n",
    "MSG a b 5\r\nhello\r\n",
    "MSG a 1 x\r\n",
    "PING\rX",
    tooBig,
  ]) {
    const events: Event[] = [];
    const parser = parserFor(events);
    parser.push(Buffer.from(`${bad}PING\r\nPING\r\n`));
    const errors = events.filter((e) => e.kind === "protocolError");
    assert.equal(errors.length, 1, bad);
    assert.equal(events.at(-1)?.kind, "protocolError", bad);
  }
});

test("nats wire - -ERR texts lose the quotes", () => {
  assert.equal(errText("-ERR 'Authorization Violation'"), "Authorization Violation");
  assert.equal(errText("-ERR  'Unknown Protocol Operation'  "), "Unknown Protocol Operation");
});

const noResponders = "NATS/1.0 503\r\n\r\n";
const withDescription = "NATS/1.0 408 Request Timeout\r\nX: y\r\n\r\n";
const hmsgStream = Buffer.from(
  `HMSG _STAN.acks.x.17 5 ${noResponders.length} ${noResponders.length}\r\n${noResponders}\r\n` +
    `HMSG sub 6 _INBOX.r ${withDescription.length} ${withDescription.length + 2}\r\n${withDescription}hi\r\n` +
    `HMSG plain 7 12 12\r\nNATS/1.0\r\n\r\n\r\nMSG after 8 1\r\nz\r\n`,
);
const hmsgExpected: Event[] = [
  {
    kind: "msg",
    sid: 5,
    reply: undefined,
    data: "",
    headers: { subject: "_STAN.acks.x.17", status: 503 },
  },
  {
    kind: "msg",
    sid: 6,
    reply: "_INBOX.r",
    data: Buffer.from("hi").toString("hex"),
    headers: { subject: "sub", status: 408 },
  },
  { kind: "msg", sid: 7, reply: undefined, data: "", headers: { subject: "plain", status: 0 } },
  { kind: "msg", sid: 8, reply: undefined, data: Buffer.from("z").toString("hex") },
];

test("nats parser - HMSG: the status code and subject come out, the header block does not", () => {
  const events: Event[] = [];
  parserFor(events).push(hmsgStream);
  assert.deepEqual(events, hmsgExpected);
});

test("nats parser - HMSG split at every position gives the same events", () => {
  for (let cut = 1; cut < hmsgStream.length; cut++) {
    const events: Event[] = [];
    const parser = parserFor(events);
    parser.push(Buffer.from(hmsgStream.subarray(0, cut)));
    parser.push(Buffer.from(hmsgStream.subarray(cut)));
    assert.deepEqual(events, hmsgExpected, `cut at ${cut}`);
  }
});

test("nats parser - an HMSG whose header size exceeds its total size is a protocol error", () => {
  for (const bad of ["HMSG a 1 10 5\r\n", "HMSG a 1 x 5\r\n", "HMSG a 1 5\r\n"]) {
    const events: Event[] = [];
    parserFor(events).push(Buffer.from(`${bad}PING\r\n`));
    assert.deepEqual(
      events.map((e) => e.kind),
      ["protocolError"],
      bad,
    );
  }
});

// Regressions found by the properties in nats-parser.property.test.ts.

test("nats parser - a control line over 64 KiB is refused in one piece as in two; 64 KiB passes", () => {
  for (const [length, kinds] of [
    [64 * 1024, ["info", "ping"]],
    [64 * 1024 + 1, ["protocolError"]], // was accepted when it came in one chunk
  ] as const) {
    const line = Buffer.from(`INFO ${"x".repeat(length - 5)}\r\nPING\r\n`);
    for (const cut of [line.length, 64 * 1024, 64 * 1024 + 1]) {
      const events: Event[] = [];
      const parser = parserFor(events);
      parser.push(Buffer.from(line.subarray(0, cut)));
      parser.push(Buffer.from(line.subarray(cut)));
      assert.deepEqual(
        events.map((e) => e.kind),
        kinds,
        `${length} bytes cut at ${cut}`,
      );
    }
  }
});

test("nats parser - a payload shorter or longer than its size is a protocol error, not a message", () => {
  // Before: "MSG a 1 3" followed by "hello" delivered "hel", then failed on "lo".
  const bads = [
    "MSG a 1 3\r\nhello\r\n",
    "MSG a 1 6\r\nhello\r\nxx",
    "HMSG a 1 12 13\r\nNATS/1.0\r\n\r\nab\r\n",
  ];
  for (const bad of bads) {
    for (const cut of [bad.length, 12]) {
      const events: Event[] = [];
      const parser = parserFor(events);
      const bytes = Buffer.from(bad);
      parser.push(bytes.subarray(0, cut));
      parser.push(bytes.subarray(cut));
      assert.deepEqual(events, [
        { kind: "protocolError", text: "message payload not followed by CRLF" },
      ]);
    }
  }
});

test("nats parser - reply subjects and HMSG subjects are UTF-8", () => {
  const events: Event[] = [];
  parserFor(events).push(
    Buffer.from("MSG a 1 _INBOX.é 2\r\nhi\r\nHMSG dc1.日本 2 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
  );
  assert.deepEqual(events, [
    { kind: "msg", sid: 1, reply: "_INBOX.é", data: Buffer.from("hi").toString("hex") },
    {
      kind: "msg",
      sid: 2,
      reply: undefined,
      data: "",
      headers: { subject: "dc1.日本", status: 0 },
    },
  ]);
});

test("nats parser - the number ending a subject comes with the message (which publish a reply answers)", () => {
  const ids: number[] = [];
  const parser = new MessageParser({
    msg: (_sid, _reply, _buf, _start, _end, _headers, subjectId) => ids.push(subjectId),
    ping: () => undefined,
    pong: () => undefined,
    info: () => undefined,
    err: () => undefined,
    protocolError: () => undefined,
  });
  parser.push(
    Buffer.from(
      "MSG _INBOX.ab.42 1 1\r\nx\r\nMSG plain 1 1\r\nx\r\nMSG a.1x 1 1\r\nx\r\n" +
        "MSG 17 1 1\r\nx\r\nHMSG r.9 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
    ),
  );
  assert.deepEqual(ids, [42, -1, -1, -1, 9]);
});
