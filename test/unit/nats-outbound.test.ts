// The outbound buffer: exact PUB and HPUB lines, a reply subject per message, one socket write
// per turn of the event loop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbound } from "../../src/nats/outbound";

function capture(): { out: Outbound; text(): string; writes: number } {
  const chunks: Buffer[] = [];
  const state = {
    out: new Outbound((b) => void chunks.push(b)),
    text: () => Buffer.concat(chunks).toString("latin1"),
    get writes() {
      return chunks.length;
    },
  };
  return state;
}

const fillWith =
  (text: string) =>
  (out: Buffer, at: number): number =>
    at + out.write(text, at, "latin1");

test("outbound - PUB with and without a reply, and a reply subject per message", () => {
  const c = capture();
  c.out.publish("a.b", "", 5, fillWith("hello"));
  c.out.publish("a.b", "_R.", 2, fillWith("hi"), 42);
  c.out.publish("a.b", "_R.", 0, fillWith(""), 7);
  c.out.flush();
  assert.equal(c.text(), "PUB a.b 5\r\nhello\r\nPUB a.b _R.42 2\r\nhi\r\nPUB a.b _R.7 0\r\n\r\n");
});

test("outbound - HPUB: header size then total size, headers and payload written by fill", () => {
  const c = capture();
  const headers = "NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n";
  c.out.publish("s", "_R.", headers.length + 3, fillWith(`${headers}abc`), 9, headers.length);
  c.out.publish("s", "", headers.length, fillWith(headers), -1, headers.length);
  c.out.flush();
  assert.equal(
    c.text(),
    `HPUB s _R.9 ${headers.length} ${headers.length + 3}\r\n${headers}abc\r\n` +
      `HPUB s ${headers.length} ${headers.length}\r\n${headers}\r\n`,
  );
});

test("outbound - a fill that writes the wrong number of bytes is an error", () => {
  const c = capture();
  assert.throws(() => c.out.publish("s", "", 3, fillWith("four")), /wrote 4 bytes, not 3/);
});

test("outbound - everything queued in one turn goes out in one write", async () => {
  const c = capture();
  for (let i = 0; i < 100; i++) c.out.publish("s", "", 1, fillWith("x"));
  c.out.write(Buffer.from("PING\r\n"));
  assert.equal(c.writes, 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.writes, 1);
  assert.ok(c.text().endsWith("PING\r\n"));
});
