import { test } from "node:test";
import assert from "node:assert/strict";
import {
  REDACTED,
  isSensitiveKey,
  looksLikeUrl,
  redactText,
  redactUrl,
} from "../../src/util/redact";

test("redactUrl - removes user and password", () => {
  assert.equal(redactUrl("nats://user:pass@host:4222"), "nats://host:4222");
  assert.equal(redactUrl("tls://u:p@nats.example.com:4443/"), "tls://nats.example.com:4443/");
});

test("redactUrl - removes token-only userinfo", () => {
  assert.equal(redactUrl("nats://s3cr3t@host:4222"), "nats://host:4222");
});

test("redactUrl - leaves URLs without credentials unchanged", () => {
  for (const url of [
    "nats://host:4222",
    "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
    "http://monitor:8222/streaming/channelsz?channel=a&subs=1",
    "host:4222",
    "",
  ]) {
    assert.equal(redactUrl(url), url);
  }
});

test("redactUrl - works on every URL of a comma separated list", () => {
  assert.equal(
    redactUrl("nats://a:b@h1:4222,nats://tok@h2:4222, nats://h3:4222"),
    "nats://h1:4222,nats://h2:4222, nats://h3:4222",
  );
});

test("redactUrl - a password holding '@' or '/' does not leak", () => {
  const out = redactUrl("nats://user:p@ss/w0rd@host:4222");
  assert.equal(out, "nats://host:4222");
  assert.ok(!out.includes("w0rd"));
});

test("redactUrl - scheme-less user:pass@host loses its credentials", () => {
  assert.equal(redactUrl("user:pass@host:4222"), "host:4222");
});

test("redactUrl - masks secret-named query parameters only", () => {
  assert.equal(
    redactUrl("http://h:8222/x?channel=a&auth_token=abc&subs=1"),
    `http://h:8222/x?channel=a&auth_token=${REDACTED}&subs=1`,
  );
});

test("redactUrl - never throws on junk", () => {
  const junk: unknown[] = [
    "%%%@@@",
    "://@",
    "@",
    ",,,",
    "nats://",
    "a".repeat(10000) + "@x",
    "x?%E0%A4%A=1&password=%",
    undefined,
    null,
    42,
  ];
  for (const j of junk) {
    assert.doesNotThrow(() => redactUrl(j as string));
    assert.equal(typeof redactUrl(j as string), "string");
  }
  assert.equal(redactUrl("x?%E0%A4%A=1&password=%"), `x?%E0%A4%A=1&password=${REDACTED}`);
});

test("redactText - strips userinfo of URLs inside a message", () => {
  assert.equal(
    redactText("could not connect to nats://u:p@h1:4222, nats://t@h2:4222 (refused)"),
    "could not connect to nats://h1:4222, nats://h2:4222 (refused)",
  );
  assert.equal(redactText("no urls here"), "no urls here");
  assert.equal(redactText("mail me at a@b.c"), "mail me at a@b.c");
});

test("looksLikeUrl - only scheme://", () => {
  assert.equal(looksLikeUrl("nats://h"), true);
  assert.equal(looksLikeUrl(" https://h"), true);
  assert.equal(looksLikeUrl("h:4222"), false);
  assert.equal(looksLikeUrl("hello"), false);
});

test("isSensitiveKey - secret names, case-insensitive", () => {
  for (const k of [
    "password",
    "Password",
    "pass",
    "PASS",
    "passwd",
    "token",
    "authToken",
    "auth_token",
    "secret",
    "clientSecret",
    "seed",
    "nkeySeed",
    "key",
    "tlsKey",
    "tls_key",
    "apiKey",
    "creds",
  ]) {
    assert.equal(isSensitiveKey(k), true, k);
  }
});

test("isSensitiveKey - ordinary names stay visible", () => {
  for (const k of ["topic", "worker", "monkey", "keyspace", "bypass", "passed", "seq", "url", ""]) {
    assert.equal(isSensitiveKey(k), false, k);
  }
});
