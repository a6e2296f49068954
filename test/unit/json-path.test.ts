import { test } from "node:test";
import assert from "node:assert/strict";
import {
  compilePath,
  extractValue,
  parseObject,
  readFlag,
  valueAt,
} from "../../src/sampling/json-path";
import { ConfigError } from "../../src/errors";

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test("json-path - reads a top-level string as-is", () => {
  assert.deepEqual(extractValue(json({ sender: "host1.example.net" }), "sender"), {
    kind: "value",
    value: "host1.example.net",
  });
});

test("json-path - follows a dotted path into nested objects", () => {
  const p = json({ identity: { fqdn: "a.example.net", x: 1 } });
  assert.deepEqual(extractValue(p, "identity.fqdn"), { kind: "value", value: "a.example.net" });
  assert.deepEqual(extractValue(p, "identity.nope"), { kind: "missing" });
  assert.deepEqual(extractValue(p, "identity.fqdn.deeper"), { kind: "missing" });
});

test("json-path - indexes arrays with decimal segments only", () => {
  const p = json({ items: [{ name: "a" }, { name: "b" }] });
  assert.deepEqual(extractValue(p, "items.1.name"), { kind: "value", value: "b" });
  assert.deepEqual(extractValue(p, "items.2.name"), { kind: "missing" });
  assert.deepEqual(extractValue(p, "items.01.name"), { kind: "missing" });
  assert.deepEqual(extractValue(p, "items.length"), { kind: "missing" });
});

test("json-path - stringifies numbers and booleans", () => {
  const p = json({ n: 42, f: 1.5, t: true, b: false });
  assert.deepEqual(extractValue(p, "n"), { kind: "value", value: "42" });
  assert.deepEqual(extractValue(p, "f"), { kind: "value", value: "1.5" });
  assert.deepEqual(extractValue(p, "t"), { kind: "value", value: "true" });
  assert.deepEqual(extractValue(p, "b"), { kind: "value", value: "false" });
});

test("json-path - objects, arrays, null and empty strings count as missing", () => {
  const p = json({ o: { a: 1 }, a: [1], z: null, e: "" });
  for (const k of ["o", "a", "z", "e", "absent"]) {
    assert.deepEqual(extractValue(p, k), { kind: "missing" }, k);
  }
});

test("json-path - never follows inherited properties", () => {
  const p = Buffer.from('{"a":{}}');
  for (const k of ["constructor", "__proto__", "toString", "a.constructor", "a.hasOwnProperty"]) {
    assert.deepEqual(extractValue(p, k), { kind: "missing" }, k);
  }
  // but an own "__proto__" key made by JSON.parse is data
  assert.deepEqual(extractValue(Buffer.from('{"__proto__":"x"}'), "__proto__"), {
    kind: "value",
    value: "x",
  });
});

test("json-path - payloads that are not a JSON object are not_json", () => {
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from("   "),
    Buffer.from("hello"),
    Buffer.from("[1,2]"),
    Buffer.from('"str"'),
    Buffer.from("42"),
    Buffer.from('{"sender":'),
    Buffer.from('{"sender":"a"} trailing'),
    Buffer.from([0x00, 0xff, 0xfe, 0x7b]),
    Buffer.from([0x7b, 0xff, 0x00, 0x01]),
  ];
  for (const c of cases)
    assert.deepEqual(extractValue(c, "sender"), { kind: "not_json" }, c.toString("hex"));
});

test("json-path - skips leading whitespace and a UTF-8 BOM", () => {
  const p = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \n\t{"sender":"é"}')]);
  assert.deepEqual(extractValue(p, "sender"), { kind: "value", value: "é" });
});

test("json-path - accepts a plain Uint8Array view", () => {
  const buf = Buffer.from('xx{"sender":"v"}');
  const view = new Uint8Array(buf.buffer, buf.byteOffset + 2, buf.length - 2);
  assert.deepEqual(extractValue(view, "sender"), { kind: "value", value: "v" });
});

test("json-path - survives huge and deeply nested payloads", () => {
  const big = json({ pad: "x".repeat(5_000_000), sender: "s" });
  assert.deepEqual(extractValue(big, "sender"), { kind: "value", value: "s" });
  const deep = Buffer.from('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000));
  const r = extractValue(deep, "a.a");
  assert.ok(r.kind === "missing" || r.kind === "not_json");
  const unterminated = Buffer.from('{"a":"' + "y".repeat(1_000_000));
  assert.deepEqual(extractValue(unterminated, "a"), { kind: "not_json" });
});

test("json-path - compilePath rejects empty segments with a ConfigError", () => {
  assert.deepEqual(compilePath("identity.fqdn"), ["identity", "fqdn"]);
  for (const bad of ["", ".a", "a.", "a..b"]) {
    assert.throws(
      () => compilePath(bad, "inspect"),
      (e: unknown) => e instanceof ConfigError && e.key === "inspect",
    );
  }
});

test("json-path - parseObject and valueAt work on a compiled path", () => {
  const obj = parseObject(json({ a: { b: 7 } }));
  assert.ok(obj);
  assert.deepEqual(valueAt(obj, compilePath("a.b")), { kind: "value", value: "7" });
  assert.equal(parseObject(Buffer.from("[]")), undefined);
});

test('json-path - readFlag is true only for boolean true or the string "true"', () => {
  const obj = parseObject(
    json({
      t: true,
      s: "true",
      S: "TRUE",
      f: false,
      fs: "false",
      one: 1,
      s1: "1",
      y: "yes",
      n: null,
      o: {},
    }),
  );
  assert.ok(obj);
  assert.equal(readFlag(obj, "t"), true);
  assert.equal(readFlag(obj, "s"), true);
  assert.equal(readFlag(obj, "S"), true);
  for (const k of ["f", "fs", "one", "s1", "y", "n", "o", "absent", "t.x"]) {
    assert.equal(readFlag(obj, k), false, k);
  }
  assert.equal(readFlag(parseObject(json({ a: { flag: true } })), "a.flag"), true);
});
