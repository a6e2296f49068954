// Test certificates made with the `openssl` CLI into a temporary directory: a CA, a server
// certificate for 127.0.0.1 and localhost (subject alternative names), a client certificate,
// and a second, unrelated CA (for "wrong CA" tests). EC P-256 keys: quick to generate.
//
// The directory is removed when the test process exits.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestCerts {
  dir: string;
  /** CA certificate that signed the server and client certificates. */
  ca: string;
  caKey: string;
  /** Server certificate and key: SAN IP:127.0.0.1, DNS:localhost. */
  serverCert: string;
  serverKey: string;
  /** Client certificate and key (clientAuth), signed by the same CA. */
  clientCert: string;
  clientKey: string;
  /** A self-signed CA that signed nothing here. */
  otherCa: string;
  /** The PEM text of every private key, to grep outputs for. */
  privateKeyPems(): string[];
}

const dirs = new Set<string>();
let hooked = false;

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function selfSignedCa(dir: string, name: string, cn: string): void {
  openssl(
    [
      "req",
      "-x509",
      ...KEY_ARGS,
      "-keyout",
      `${name}-key.pem`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
}

function signed(dir: string, name: string, cn: string, extensions: string[]): void {
  openssl(
    [
      "req",
      "-new",
      ...KEY_ARGS,
      "-keyout",
      `${name}-key.pem`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ],
    dir,
  );
  writeFileSync(path.join(dir, `${name}.ext`), `${extensions.join("\n")}\n`);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
}

/** Generates a fresh set of certificates (about a quarter of a second). */
export function makeTestCerts(): TestCerts {
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "sr-certs-"));
  dirs.add(dir);
  selfSignedCa(dir, "ca", "stream-replicator test CA");
  selfSignedCa(dir, "other-ca", "unrelated test CA");
  signed(dir, "server", "localhost", [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    // clientAuth too: the streaming server's own connection to its embedded NATS server uses it.
    "extendedKeyUsage=serverAuth,clientAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  signed(dir, "client", "stream-replicator", [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=clientAuth",
  ]);
  const file = (name: string): string => path.join(dir, name);
  const keys = ["ca-key.pem", "other-ca-key.pem", "server-key.pem", "client-key.pem"];
  return {
    dir,
    ca: file("ca.pem"),
    caKey: file("ca-key.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server-key.pem"),
    clientCert: file("client.pem"),
    clientKey: file("client-key.pem"),
    otherCa: file("other-ca.pem"),
    privateKeyPems: () => keys.map((k) => readFileSync(file(k), "utf8")),
  };
}
