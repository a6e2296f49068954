// The NATS protocol parser under property-based tests (fast-check). Whatever a server sends and
// however the socket cuts it: the events are those of the same bytes in one piece, a valid
// stream comes out as the frames that were sent, and random or corrupted bytes end in at most
// one protocol error, never in an exception, a hang or an allocation above the parser's limits.
// A failing property prints its seed and the smallest input found.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MessageParser } from "../../src/nats/parser";

/** The limits src/nats/parser.ts states. */
const MAX_CONTROL_LINE = 64 * 1024;
const MAX_PAYLOAD = 64 * 1024 * 1024;
/** A run over a few hundred KiB takes milliseconds; far beyond this is a hang or worse. */
const RUN_BUDGET_MS = 2_000;

// ---------------------------------------------------------------------------------------
// Parsing with a record of what came out and what was allocated

/** `["msg", sid, reply, payload hex, HMSG subject, status]`, `["ping"]`, `["err", text]`, ... */
type Event = ReadonlyArray<string | number | null>;

interface Outcome {
  events: Event[];
  /** Index of the chunk in which the protocol error came; -1 without one. */
  errorChunk: number;
  /** The size of every buffer the parser allocated (Buffer.concat allocates through it too). */
  allocations: number[];
  ms: number;
}

function parse(chunks: readonly Buffer[]): Outcome {
  const events: Event[] = [];
  let current = 0;
  let errorChunk = -1;
  const parser = new MessageParser({
    msg: (sid, reply, buf, start, end, headers) => {
      const hex = buf.toString("hex", start, end);
      events.push([
        "msg",
        sid,
        reply ?? null,
        hex,
        headers?.subject ?? null,
        headers?.status ?? null,
      ]);
    },
    ping: () => events.push(["ping"]),
    pong: () => events.push(["pong"]),
    info: (json) => events.push(["info", json]),
    err: (text) => events.push(["err", text]),
    protocolError: (text) => {
      events.push(["protocolError", text]);
      if (errorChunk < 0) errorChunk = current;
    },
  });
  const allocations: number[] = [];
  const allocUnsafe = Buffer.allocUnsafe;
  Buffer.allocUnsafe = (size: number) => {
    allocations.push(size);
    return allocUnsafe.call(Buffer, size);
  };
  const started = performance.now();
  try {
    for (; current < chunks.length; current++) {
      const chunk = chunks[current] ?? Buffer.alloc(0);
      try {
        parser.push(chunk);
      } catch (err) {
        assert.fail(`push() threw: ${String(err)}`);
      }
    }
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
  }
  return { events, errorChunk, allocations, ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------
// Valid server streams: every frame with the event it must give

/** One thing a server sends; `event` is what the parser must report (+OK reports nothing). */
interface Frame {
  bytes: Buffer;
  event: Event | undefined;
  /** A MSG or HMSG, kept so that its size fields can be rewritten. */
  msg?: Msg;
}

interface Msg {
  op: string;
  subject: string;
  sid: number;
  reply: string | undefined;
  /** Separators between the tokens, and white space before the CRLF (servers send none). */
  spaces: string[];
  trailing: string;
  /** The header block of an HMSG. */
  header: { block: Buffer; status: number } | undefined;
  payload: Buffer;
}

/** Its control line and bytes, with its size fields replaced where `sizes` says. */
function renderMsg(m: Msg, sizes: { size?: string; headerSize?: string } = {}): Buffer {
  const headerSize = m.header?.block.length ?? 0;
  const size = headerSize + m.payload.length;
  const tokens = [m.op, m.subject, String(m.sid)];
  if (m.reply !== undefined) tokens.push(m.reply);
  if (m.header !== undefined) tokens.push(sizes.headerSize ?? String(headerSize));
  tokens.push(sizes.size ?? String(size));
  const line = tokens.map((t, i) => (i === 0 ? t : `${m.spaces[i - 1] ?? " "}${t}`)).join("");
  return Buffer.concat([
    Buffer.from(`${line}${m.trailing}\r\n`),
    m.header?.block ?? Buffer.alloc(0),
    m.payload,
    Buffer.from("\r\n"),
  ]);
}

function msgFrame(m: Msg): Frame {
  const event: Event = [
    "msg",
    m.sid,
    m.reply ?? null,
    m.payload.toString("hex"),
    m.header === undefined ? null : m.subject,
    m.header?.status ?? null,
  ];
  return { bytes: renderMsg(m), event, msg: m };
}

/** An operation name in any letter case: NATS operations are case-insensitive. */
function anyCase(word: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((lower) => [...word].map((c, i) => (lower[i] ? c.toLowerCase() : c)).join(""));
}

const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
/** Subject characters: anything but white space, UTF-8 included. */
const subjectChar = fc.oneof(
  fc.constantFrom(..."abcxyzABCXYZ0189._-*>$:"),
  fc.constantFrom("é", "ü", "日本", "€", "😀"),
);
const subject = fc.string({ unit: subjectChar, minLength: 1, maxLength: 30 });
/** Payload pieces that look like protocol: a parser scanning for CRLF would stop at them. */
const tricky = fc.constantFrom(
  "\r",
  "\n",
  "\r\n",
  "MSG ",
  "HMSG a 1 2 3\r\n",
  "PING\r\n",
  "\r\n\r\n",
);
const payload = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.uint8Array({ maxLength: 24 }),
          tricky.map((s) => Buffer.from(s)),
        ),
        {
          maxLength: 8,
        },
      )
      .map((parts) => Buffer.concat(parts)),
  },
  // Larger than one socket chunk: delivered as a gathered copy when split.
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => Buffer.alloc(n, n)) },
);
const headerName = fc.string({
  unit: fc.constantFrom(..."abcXYZ-_09"),
  minLength: 1,
  maxLength: 8,
});
const headerBlock = fc
  .record({
    status: fc.option(fc.integer({ min: 100, max: 999 }), { nil: undefined }),
    description: fc.string({ unit: printable, maxLength: 16 }),
    fields: fc.array(fc.tuple(headerName, fc.string({ unit: printable, maxLength: 20 })), {
      maxLength: 3,
    }),
  })
  .map(({ status, description, fields }) => {
    const statusLine = status === undefined ? "NATS/1.0" : `NATS/1.0 ${status} ${description}`;
    const lines = fields.map(([name, value]) => `${name}: ${value}\r\n`).join("");
    return { block: Buffer.from(`${statusLine}\r\n${lines}\r\n`), status: status ?? 0 };
  });
const spaces = fc.array(fc.constantFrom(" ", " ", "\t", "  ", " \t "), {
  minLength: 5,
  maxLength: 5,
});
const trailing = fc.constantFrom("", "", "", " ", "\t");

/** A MSG, or with a header block an HMSG, with or without a reply subject. */
function message(
  op: string,
  header: fc.Arbitrary<Msg["header"]>,
  body: fc.Arbitrary<Buffer> = payload,
): fc.Arbitrary<Msg> {
  const reply = fc.option(subject, { nil: undefined });
  const sid = fc.maxSafeNat();
  return fc.record({
    op: anyCase(op),
    subject,
    sid,
    reply,
    spaces,
    trailing,
    header,
    payload: body,
  });
}
const msg = message("MSG", fc.constant(undefined));
const hmsg = message("HMSG", headerBlock);

function control(text: string, event?: Event): Frame {
  return { bytes: Buffer.from(`${text}\r\n`), event };
}

const infoJson = fc
  .dictionary(
    fc.string({ maxLength: 12 }),
    fc.oneof(fc.string({ unit: "grapheme", maxLength: 20 }), fc.integer(), fc.boolean()),
    { maxKeys: 6 },
  )
  .map((o) => JSON.stringify(o));

const frame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: msg.map(msgFrame) },
  { weight: 3, arbitrary: hmsg.map(msgFrame) },
  { weight: 1, arbitrary: anyCase("PING").map((op) => control(op, ["ping"])) },
  { weight: 1, arbitrary: anyCase("PONG").map((op) => control(op, ["pong"])) },
  { weight: 1, arbitrary: anyCase("+OK").map((op) => control(op)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(anyCase("-ERR"), fc.string({ unit: printable, maxLength: 60 }))
      .map(([op, text]) => control(`${op} '${text}'`, ["err", text])),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(anyCase("INFO"), infoJson)
      .map(([op, json]) => control(`${op} ${json}`, ["info", json])),
  },
);
const frames = fc.array(frame, { maxLength: 16 });

function bytesOf(list: readonly Frame[]): Buffer {
  return Buffer.concat(list.map((f) => f.bytes));
}

function eventsOf(list: readonly Frame[]): Event[] {
  return list.flatMap((f) => (f.event === undefined ? [] : [f.event]));
}

// ---------------------------------------------------------------------------------------
// Cutting a stream into socket chunks

/**
 * Where to cut: at random points (a repeated point makes an empty chunk), after every byte
 * (of the first 20 KB, so that runs stay short), or before and after every CR and LF (chunks
 * that end at a CR, chunks that are a lone LF).
 */
type Cuts = { kind: "random"; at: number[] } | { kind: "bytes" } | { kind: "lineEnds" };

const cuts: fc.Arbitrary<Cuts> = fc.oneof(
  fc
    .array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 })
    .map((at) => ({ kind: "random" as const, at })),
  fc.constant({ kind: "bytes" as const }),
  fc.constant({ kind: "lineEnds" as const }),
);

function cutPoints(bytes: Buffer, how: Cuts): number[] {
  if (how.kind === "random") return how.at.map((f) => Math.floor(f * bytes.length));
  if (how.kind === "bytes")
    return Array.from({ length: Math.min(bytes.length, 20_000) }, (_, i) => i);
  const points: number[] = [];
  bytes.forEach((b, i) => {
    if (b === 13 || b === 10) points.push(i, i + 1);
  });
  return points;
}

/** The chunks, each a buffer of its own as a socket delivers them (the parser keeps views). */
function split(bytes: Buffer, how: Cuts): Buffer[] {
  const points = [0, ...cutPoints(bytes, how).sort((a, b) => a - b), bytes.length];
  return points.slice(1).map((end, i) => Buffer.from(bytes.subarray(points[i], end)));
}

// ---------------------------------------------------------------------------------------
// Random and corrupted input

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Protocol words, numbers and separators: random input that gets past the first byte. */
const protocolish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ..."MSG |HMSG |PING|PONG|+OK|-ERR |INFO | |\t|\r|\n|\r\n|0|5|12|65536|67108865|-1|+3|a.b".split(
          "|",
        ),
        "99999999999999999999999",
        "NATS/1.0 503\r\n\r\n",
      ),
      fc.uint8Array({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))));

type Corruption =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fraction, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fraction }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fraction,
    bytes: fc.oneof(fc.uint8Array({ maxLength: 12 }), protocolish),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fraction,
    length: fc.integer({ min: 1, max: 20 }),
  }),
);

function corrupt(bytes: Buffer, how: readonly Corruption[]): Buffer {
  let out = Buffer.from(bytes);
  for (const c of how) {
    const at = Math.floor(c.at * out.length);
    const before = out.subarray(0, at);
    if (c.kind === "flip" && at < out.length) out[at] = (out[at] ?? 0) ^ (1 << c.bit);
    else if (c.kind === "truncate") out = before;
    else if (c.kind === "insert") out = Buffer.concat([before, c.bytes, out.subarray(at)]);
    else if (c.kind === "delete") out = Buffer.concat([before, out.subarray(at + c.length)]);
  }
  return out;
}

/** Random bytes, protocol-like noise, and valid streams with a few corruptions. */
const badInput: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  protocolish,
  fc
    .tuple(frames, fc.array(corruption, { minLength: 1, maxLength: 4 }))
    .map(([list, how]) => corrupt(bytesOf(list), how)),
);

function assertWithinBudget(outcome: Outcome): void {
  assert.ok(outcome.ms < RUN_BUDGET_MS, `parsing took ${outcome.ms.toFixed(0)} ms`);
}

// ---------------------------------------------------------------------------------------
// Properties

test("nats parser (property) - a valid stream comes out as the frames that were sent, however it is cut", () => {
  fc.assert(
    fc.property(frames, cuts, (list, how) => {
      const bytes = bytesOf(list);
      const whole = parse([bytes]);
      assert.deepEqual(whole.events, eventsOf(list));
      const chunked = parse(split(bytes, how));
      assert.deepEqual(chunked.events, eventsOf(list));
      assertWithinBudget(chunked);
    }),
    { numRuns: 300 },
  );
});

test("nats parser (property) - any bytes, cut anywhere, give the same events as in one piece", () => {
  fc.assert(
    fc.property(badInput, cuts, (bytes, how) => {
      const chunked = parse(split(bytes, how));
      assert.deepEqual(chunked.events, parse([bytes]).events);
      assertWithinBudget(chunked);
    }),
    { numRuns: 500 },
  );
});

test("nats parser (property) - random and corrupted input never throws, reports at most one protocol error and nothing after it", () => {
  fc.assert(
    fc.property(badInput, cuts, (bytes, how) => {
      // A valid frame after the damage: once the stream failed, it must not come out.
      const { events } = parse([...split(bytes, how), Buffer.from("PING\r\n")]);
      const errors = events.filter((e) => e[0] === "protocolError");
      assert.ok(errors.length <= 1, `${errors.length} protocol errors`);
      if (errors.length === 1) assert.equal(events.at(-1)?.[0], "protocolError");
    }),
    { numRuns: 500 },
  );
});

test("nats parser (property) - allocations stay within the limits: one buffer of at most 64 MiB + CRLF, a few times the input in all", () => {
  fc.assert(
    fc.property(fc.oneof(badInput, frames.map(bytesOf)), cuts, (bytes, how) => {
      const { allocations } = parse(split(bytes, how));
      const largest = Math.max(0, ...allocations);
      assert.ok(largest <= MAX_PAYLOAD + 2, `allocated ${largest} bytes`);
      // Split payloads are gathered once, unfinished lines joined once: linear in the input.
      // Only a declared size that has not arrived may stand for more than was received.
      const total = allocations.reduce((a, b) => a + b, 0);
      assert.ok(
        total <= 3 * bytes.length + largest,
        `allocated ${total} for ${bytes.length} bytes`,
      );
    }),
    { numRuns: 300 },
  );
});

/** Size fields that are not a size the parser may allocate for. */
const badSize = fc.oneof(
  fc.integer({ min: MAX_PAYLOAD + 1, max: Number.MAX_SAFE_INTEGER }).map(String),
  fc.integer({ min: 20, max: 400 }).map((n) => "9".repeat(n)), // beyond 2^64, beyond 2^1024
  fc.constant("18446744073709551617"),
  fc.nat().map((n) => `-${n}`),
  fc.nat().map((n) => `+${n}`),
  fc.constantFrom("-0", "0x10", "1e3", "5.0", "\u0663", "\u22125", "NaN", "Infinity"),
);

test("nats parser (property) - a size above 64 MiB, overflowing, signed or not a number is a protocol error at its frame, allocating nothing for it", () => {
  const bad = fc.record({
    before: frames,
    m: fc.oneof(msg, hmsg),
    field: fc.constantFrom("size" as const, "headerSize" as const),
    value: badSize,
    after: frames,
    how: cuts,
  });
  fc.assert(
    fc.property(bad, ({ before, m, field, value, after, how }) => {
      const sizes =
        m.header === undefined || field === "size" ? { size: value } : { headerSize: value };
      const bytes = Buffer.concat([bytesOf(before), renderMsg(m, sizes), bytesOf(after)]);
      const { events, allocations } = parse(split(bytes, how));
      assert.deepEqual(events.slice(0, -1), eventsOf(before));
      assert.equal(events.at(-1)?.[0], "protocolError");
      // Nothing near the declared size: only line joins and the earlier frames' payloads.
      for (const size of allocations) assert.ok(size <= bytes.length + MAX_CONTROL_LINE + 2);
    }),
    { numRuns: 300 },
  );
});

test("nats parser (property) - an HMSG whose header size exceeds its total size is a protocol error at its frame", () => {
  const bad = fc.record({
    before: frames,
    m: hmsg,
    excess: fc.integer({ min: 1, max: 1000 }),
    how: cuts,
  });
  fc.assert(
    fc.property(bad, ({ before, m, excess, how }) => {
      const total = (m.header?.block.length ?? 0) + m.payload.length;
      const headerSize = String(total + excess);
      const bytes = Buffer.concat([
        bytesOf(before),
        renderMsg(m, { headerSize }),
        Buffer.from("PING\r\n"),
      ]);
      const { events } = parse(split(bytes, how));
      assert.deepEqual(events.slice(0, -1), eventsOf(before));
      assert.equal(events.at(-1)?.[0], "protocolError");
    }),
    { numRuns: 200 },
  );
});

test("nats parser (property) - a payload longer or shorter than its declared size is a protocol error, never a message with other bytes", () => {
  // No CR in the payload or in what follows it, so no byte can pass for the payload's CRLF.
  const noCr = fc
    .uint8Array({ maxLength: 300 })
    .map((a) => Buffer.from(a.map((b) => (b === 13 ? 14 : b))));
  const wrong = fc
    .oneof(message("MSG", fc.constant(undefined), noCr), message("HMSG", headerBlock, noCr))
    .chain((m) => {
      const delta = fc.integer({ min: -m.payload.length, max: 64 }).filter((d) => d !== 0);
      return fc.record({ m: fc.constant(m), delta });
    });
  fc.assert(
    fc.property(frames, wrong, cuts, (before, { m, delta }, how) => {
      const size = (m.header?.block.length ?? 0) + m.payload.length + delta;
      const bytes = Buffer.concat([
        bytesOf(before),
        renderMsg(m, { size: String(size) }),
        Buffer.from(`${"x".repeat(80)}\r\n`),
      ]);
      const { events } = parse(split(bytes, how));
      assert.deepEqual(events.slice(0, -1), eventsOf(before));
      assert.equal(events.at(-1)?.[0], "protocolError");
    }),
    { numRuns: 300 },
  );
});

test("nats parser (property) - a control line over 64 KiB is refused by the chunk that makes it so, however it is cut; 64 KiB passes", () => {
  const line = fc.record({
    op: fc.constantFrom("INFO ", "-ERR '", "MSG ", "PING", "XYZ"),
    length: fc.oneof(
      fc.integer({ min: MAX_CONTROL_LINE - 2, max: MAX_CONTROL_LINE + 2 }),
      fc.integer({ min: MAX_CONTROL_LINE - 2, max: 3 * MAX_CONTROL_LINE }),
    ),
    at: fc.array(fraction, { maxLength: 12 }),
    bytewiseNearLimit: fc.boolean(),
  });
  fc.assert(
    fc.property(line, ({ op, length, at, bytewiseNearLimit }) => {
      // `MSG <subject> 1 0` of `length` bytes, or the operation followed by filler.
      const text = op === "MSG " ? `MSG ${"s".repeat(length - 8)} 1 0` : op.padEnd(length, "a");
      const bytes = Buffer.from(`${text}\r\n${op === "MSG " ? "\r\n" : ""}PING\r\n`);
      const points = at.map((f) => Math.floor(f * bytes.length));
      if (bytewiseNearLimit) for (let i = -3; i <= 3; i++) points.push(MAX_CONTROL_LINE + i);
      const chunks = split(bytes, { kind: "random", at: points.map((p) => p / bytes.length) });
      const outcome = parse(chunks);
      assert.deepEqual(outcome.events, parse([bytes]).events);
      if (length <= MAX_CONTROL_LINE) {
        assert.ok(!outcome.events.some((e) => e[1] === "control line too long"));
        return;
      }
      assert.deepEqual(outcome.events, [["protocolError", "control line too long"]]);
      // The line is held back only until its byte 64 KiB + 1 arrives.
      const before = chunks.slice(0, outcome.errorChunk).reduce((n, c) => n + c.length, 0);
      assert.ok(before <= MAX_CONTROL_LINE, `refused only after ${before} bytes`);
    }),
    { numRuns: 60 },
  );
});

test("nats parser - a 64 KiB control line that arrives a byte at a time is joined once, not copied per byte", () => {
  const bytes = Buffer.from(`INFO ${"x".repeat(MAX_CONTROL_LINE - 5)}\r\nPING\r\n`);
  const { events, allocations, ms } = parse(Array.from(bytes, (b) => Buffer.from([b])));
  assert.deepEqual(
    events.map((e) => e[0]),
    ["info", "ping"],
  );
  const copied = allocations.reduce((a, b) => a + b, 0);
  assert.ok(copied <= 2 * bytes.length, `copied ${copied} bytes for a ${bytes.length}-byte line`);
  assert.ok(ms < RUN_BUDGET_MS, `took ${ms.toFixed(0)} ms`);
});
