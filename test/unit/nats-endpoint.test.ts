// The connector's security options: credentials taken out of URLs, TLS options per server,
// and each configured way to authenticate as client options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { authOptions, loadTls, splitUrl } from "../../src/nats/endpoint";
import { encodeUserSeed, nkeySigner } from "../../src/nats/nkey";
import { makeTestCerts } from "../support/certs";

test("splitUrl - a URL without credentials is left as it is", () => {
  assert.deepEqual(splitUrl("nats://source1:4222"), {
    url: "nats://source1:4222",
    host: "source1",
    credentials: {},
  });
});

test("splitUrl - user:password and token userinfo leave the URL, percent-decoded", () => {
  assert.deepEqual(splitUrl("nats://sr:p%40ss%3Aw%2Frd@source1:4222"), {
    url: "nats://source1:4222",
    host: "source1",
    credentials: { user: "sr", pass: "p@ss:w/rd" },
  });
  assert.deepEqual(splitUrl("tls://s3cret@source1:4222"), {
    url: "tls://source1:4222",
    host: "source1",
    credentials: { token: "s3cret" },
  });
  assert.deepEqual(splitUrl("nats://sr:@h:1").credentials, { user: "sr", pass: "" });
});

test("splitUrl - IPv6 hosts lose their brackets", () => {
  assert.equal(splitUrl("nats://[::1]:4222").host, "::1");
});

test("loadTls - reads the files, verifies always, sends SNI for names only", () => {
  const certs = makeTestCerts();
  const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
  const byName = loadTls(tls, "nats.example.com");
  assert.deepEqual(byName.ca, readFileSync(certs.ca));
  assert.deepEqual(byName.cert, readFileSync(certs.clientCert));
  assert.deepEqual(byName.key, readFileSync(certs.clientKey));
  assert.equal(byName.servername, "nats.example.com");
  assert.equal(byName.rejectUnauthorized, true);
  assert.equal(loadTls(tls, "127.0.0.1").servername, undefined);
  assert.equal(
    loadTls({ ...tls, serverName: "other.example" }, "127.0.0.1").servername,
    "other.example",
  );
  assert.throws(() => loadTls({ ca: "/nonexistent/ca.pem" }, "h"), /ENOENT/);
});

test("authOptions - each configured method becomes the client's options", () => {
  const seed = encodeUserSeed(randomBytes(32));
  const signer = nkeySigner(seed);
  const signerFor = (s: string) => {
    assert.equal(s, seed);
    return signer;
  };
  assert.deepEqual(authOptions({ kind: "user", user: "sr", password: "pw" }, signerFor), {
    user: "sr",
    pass: "pw",
  });
  assert.deepEqual(authOptions({ kind: "token", token: "t" }, signerFor), { token: "t" });
  assert.deepEqual(authOptions({ kind: "nkey", seed }, signerFor), {
    nkey: signer.publicKey,
    signNonce: signer.sign,
  });
  assert.deepEqual(
    authOptions({ kind: "credentials", file: "/u.creds", jwt: "a.b.c", seed }, signerFor),
    { userJwt: "a.b.c", signNonce: signer.sign },
  );
});
