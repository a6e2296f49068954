/**
 * The security blocks (source_auth / target_auth, http_tls, http_basic_auth; the files of a
 * tls block): each block is validated, then the files the configuration refers to (TLS
 * certificates and keys, password/token/seed files, credentials files) are read and checked,
 * so a missing or broken one stops the start with one line naming the key and the file
 * instead of failing at every connect. Problems never include a secret's value.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import { errorText } from "../errors";
import { nkeySigner, parseCredentials } from "../nats/nkey";
import type { RawAuth, RawBasicAuth, RawHttpTls } from "./schema/security";
import { authSchema, basicAuthSchema, httpTlsSchema } from "./schema/security";
import type { HttpConfig, NatsAuth, TlsConfig } from "./types";
import { validateBlock } from "./validate";
import type { Fail, Mapping } from "./validate";

/** Reads a file the configuration refers to (fs.readFileSync unless a test gives another). */
export type ReadFile = (path: string) => Buffer;

/** The file's bytes, or a problem `cannot read <path> (<code>)` at `key`. */
export function readReferenced(path: string, key: string, readFile: ReadFile, fail: Fail): Buffer {
  try {
    return readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(key, `cannot read ${path} (${code ?? errorText(err)})`);
  }
}

/** Checks that every file of a tls block is readable and holds what it should. */
export function checkTlsFiles(tls: TlsConfig, readFile: ReadFile, fail: Fail): void {
  if (tls.ca !== undefined) certificate(tls.ca, "ca", readFile, fail);
  if (tls.cert !== undefined && tls.key !== undefined) {
    keyPair(tls.cert, tls.key, "cert", "key", readFile, fail);
  }
}

/** The http_tls block: both files readable, and the key belongs to the certificate. */
export function loadHttpTls(block: Mapping, readFile: ReadFile, fail: Fail): HttpConfig["tls"] {
  const raw = validateBlock<RawHttpTls>(httpTlsSchema, block, fail);
  keyPair(raw.cert, raw.key, "cert", "key", readFile, fail);
  return { cert: raw.cert, key: raw.key };
}

/** The http_basic_auth block, with password_file read. */
export function loadBasicAuth(
  block: Mapping,
  readFile: ReadFile,
  fail: Fail,
): HttpConfig["basicAuth"] {
  const raw = validateBlock<RawBasicAuth>(basicAuthSchema, block, fail);
  if (raw.user.includes(":")) fail("user", "must not contain a colon (basic auth cannot carry it)");
  const password = secret(raw, "password", readFile, fail);
  if (password === undefined) fail("password", "is required (or password_file)");
  return { user: raw.user, password };
}

/**
 * A source_auth / target_auth block: exactly one way to authenticate (user + password, token,
 * NKey seed or credentials file); undefined for an empty block.
 */
export function loadAuth(block: Mapping, readFile: ReadFile, fail: Fail): NatsAuth | undefined {
  const raw = validateBlock<RawAuth>(authSchema, block, fail);
  const given = (key: keyof RawAuth): boolean => raw[key] !== null;
  const methods = [
    ["user", "password", "password_file"],
    ["token", "token_file"],
    ["nkey_seed", "nkey_seed_file"],
    ["credentials"],
  ] as const;
  const used = methods.flatMap((keys) => keys.filter(given).slice(0, 1));
  if (used.length > 1) {
    fail(used[1] ?? "", `cannot be combined with ${used[0]} (give one way to authenticate)`);
  }
  const password = secret(raw, "password", readFile, fail);
  if (raw.user !== null) {
    if (password === undefined) fail("user", "needs password or password_file");
    return { kind: "user", user: raw.user, password };
  }
  if (password !== undefined) fail(given("password") ? "password" : "password_file", "needs user");
  const token = secret(raw, "token", readFile, fail);
  if (token !== undefined) return { kind: "token", token };
  const seed = secret(raw, "nkey_seed", readFile, fail);
  if (seed !== undefined) {
    const key = given("nkey_seed") ? "nkey_seed" : "nkey_seed_file";
    try {
      nkeySigner(seed);
    } catch (err) {
      fail(key, `${key === "nkey_seed" ? "" : `${raw.nkey_seed_file} `}${errorText(err)}`);
    }
    return { kind: "nkey", seed: seed.trim() };
  }
  if (raw.credentials !== null) {
    const text = readReferenced(raw.credentials, "credentials", readFile, fail).toString("utf8");
    try {
      return { kind: "credentials", file: raw.credentials, ...parseCredentials(text) };
    } catch (err) {
      fail("credentials", `${raw.credentials} ${errorText(err)}`);
    }
  }
  return undefined;
}

/**
 * The value of `<name>` or the content of `<name>_file` (one trailing newline dropped), at most
 * one of the two; undefined when neither is given.
 */
function secret<K extends "password" | "token" | "nkey_seed">(
  raw: { [P in K | `${K}_file`]?: string | null },
  name: K,
  readFile: ReadFile,
  fail: Fail,
): string | undefined {
  const fileKey = `${name}_file` as const;
  const inline = raw[name] ?? null;
  const file = raw[fileKey] ?? null;
  if (inline !== null && file !== null) {
    fail(fileKey, `cannot be combined with ${name} (give one of them)`);
  }
  if (inline !== null) return inline;
  if (file === null) return undefined;
  const text = readReferenced(file, fileKey, readFile, fail)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (text === "") fail(fileKey, `${file} is empty`);
  return text;
}

function certificate(path: string, key: string, readFile: ReadFile, fail: Fail): Buffer {
  const pem = readReferenced(path, key, readFile, fail);
  try {
    new X509Certificate(pem);
  } catch {
    fail(key, `${path} is not a PEM certificate`);
  }
  return pem;
}

function keyPair(
  certPath: string,
  keyPath: string,
  certKey: string,
  keyKey: string,
  readFile: ReadFile,
  fail: Fail,
): void {
  const cert = certificate(certPath, certKey, readFile, fail);
  const key = readReferenced(keyPath, keyKey, readFile, fail);
  try {
    createPrivateKey(key);
  } catch {
    fail(keyKey, `${keyPath} is not a PEM private key (encrypted keys are not supported)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    fail(keyKey, `${keyPath} is not the private key of the certificate ${certPath}`);
  }
}
