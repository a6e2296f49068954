/**
 * One server of a configured list, ready to dial: the URL without credentials, Node TLS
 * options and the credentials (from the URL or the configured block). Shared by every adapter
 * that connects to a NATS server.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { NatsAuth, TlsConfig } from "../config/types";
import type { ConnectAuth } from "./handshake";
import { nkeySigner } from "./nkey";
import type { NkeySigner } from "./nkey";

export interface Endpoint {
  /** nats:// or tls:// URL without userinfo. */
  url: string;
  tls?: TlsConnectionOptions;
  auth: ConnectAuth;
}

/**
 * The servers of one cluster, tried in turn: each attempt of a caller (a worker, say) takes the
 * next server of the list, so a dead one is passed over, and numbered callers start at different
 * servers. TLS files are read at every attempt; one NKey signer serves every attempt.
 */
export function clusterEndpoints(
  urls: readonly string[],
  settings: { tls?: TlsConfig; auth?: NatsAuth },
): (caller: number | string) => Endpoint {
  let signer: NkeySigner | undefined;
  const signerFor = (seed: string): NkeySigner => (signer ??= nkeySigner(seed));
  const attempts = new Map<number | string, number>();
  return (caller) => {
    const n = attempts.get(caller) ?? (typeof caller === "number" ? caller : 0);
    attempts.set(caller, n + 1);
    const url = urls[n % urls.length] ?? urls[0] ?? "nats://localhost:4222";
    return endpointFor(url, settings, signerFor);
  };
}

/**
 * The endpoint for one connect attempt at `configuredUrl`. Credentials written into the URL
 * win over the configured block. TLS files are read here, at every attempt.
 */
export function endpointFor(
  configuredUrl: string,
  settings: { tls?: TlsConfig; auth?: NatsAuth },
  signerFor: (seed: string) => NkeySigner,
): Endpoint {
  const { url, host, credentials } = splitUrl(configuredUrl);
  const fromUrl: ConnectAuth | undefined =
    credentials.user !== undefined
      ? { user: credentials.user, pass: credentials.pass ?? "" }
      : credentials.token !== undefined
        ? { token: credentials.token }
        : undefined;
  return {
    url,
    ...(settings.tls ? { tls: loadTls(settings.tls, host) } : {}),
    auth: fromUrl ?? (settings.auth ? authOptions(settings.auth, signerFor) : {}),
  };
}

/**
 * Node TLS options, read afresh at every connect so a renewed certificate is picked up. The
 * certificate chain and the server name are always verified (Node's defaults); the name is
 * `server_name` when set, else the URL's host. SNI is sent for names, never for IP addresses.
 */
export function loadTls(tls: TlsConfig, host: string): TlsConnectionOptions {
  const name = tls.serverName ?? host;
  return {
    ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: readFileSync(tls.key) } : {}),
    ...(isIP(name) === 0 ? { servername: name } : {}),
    rejectUnauthorized: true,
  };
}

/** Client options for one configured way to authenticate. */
export function authOptions(auth: NatsAuth, signerFor: (seed: string) => NkeySigner): ConnectAuth {
  switch (auth.kind) {
    case "user":
      return { user: auth.user, pass: auth.password };
    case "token":
      return { token: auth.token };
    case "nkey": {
      const signer = signerFor(auth.seed);
      return { nkey: signer.publicKey, signNonce: signer.sign };
    }
    case "credentials":
      return { userJwt: auth.jwt, signNonce: signerFor(auth.seed).sign };
  }
}

/** Credentials written into a URL: `user:password@` or `token@`. */
export interface UrlCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Takes the userinfo out of a server URL: the URL without it, its host (no brackets) and the
 * percent-decoded credentials. A URL that does not parse is returned as is (config validated
 * it; connecting will report the problem).
 */
export function splitUrl(text: string): { url: string; host: string; credentials: UrlCredentials } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { url: text, host: "", credentials: {} };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (url.username === "" && url.password === "") return { url: text, host, credentials: {} };
  const user = decode(url.username);
  const pass = decode(url.password);
  const hasPassword = text.slice(0, text.lastIndexOf("@")).includes(":", url.protocol.length + 2);
  url.username = "";
  url.password = "";
  const credentials = hasPassword ? { user, pass } : { token: user };
  return { url: url.href.replace(/\/$/, ""), host, credentials };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
