/**
 * Builds STAN sessions for a topic's workers from its configuration: the next server of the
 * side's list, its TLS options and its credentials.
 *
 * Credentials never reach the client library inside a URL: userinfo is taken out of the URL
 * here (percent-decoded) and passed as options, so the library's own error texts cannot
 * contain it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { NatsAuth, TlsConfig, TopicConfig } from "../config/types";
import { nkeySigner } from "../util/nkey";
import type { NkeySigner } from "../util/nkey";
import type { Connector, SourceSession, TargetSession } from "../replicator/transport";
import type { SideName } from "../replicator/status";
import { StanSession } from "./session";
import type { SessionOptions } from "./session-options";

/** Connection tuning. Pings: 10 × 5 s lets a server restart or leader election pass. */
export const SESSION_DEFAULTS = {
  connectTimeoutMs: 5_000,
  pingIntervalMs: 5_000,
  pingMaxOut: 10,
};

/** `<name>_<n>`: the worker's id in logs and metric labels, and its STAN client id when ordered. */
export function clientId(name: string, worker: number): string {
  return `${name}_${worker}`;
}

/**
 * A suffix unique to this process. A plain durable is keyed by client id + durable name, so an
 * ordered worker's client id must stay `<name>_<n>` across restarts. A durable queue group is
 * keyed by queue group + durable name only, so queued workers (and the advisory publisher) can
 * and must differ per process: several processes share one queue group, and identical ids
 * would refuse each other ("clientID already registered").
 */
const INSTANCE = randomBytes(4).toString("hex");

/** The STAN client id a session of this topic uses. */
export function stanClientId(topic: TopicConfig, worker: number | "advisor"): string {
  if (worker === "advisor") return `${topic.name}_advisor_${INSTANCE}`;
  const id = clientId(topic.name, worker);
  return topic.queued ? `${id}_${INSTANCE}` : id;
}

export function createStanConnector(topic: TopicConfig): StanConnector {
  const tlsFor = (side: SideName, host: string): TlsConnectionOptions | undefined => {
    const disabled = side === "source" ? topic.disableSourceTls : topic.disableTargetTls;
    return disabled || !topic.tls ? undefined : loadTls(topic.tls, host);
  };
  const signers = new Map<string, NkeySigner>();
  const authFor = (side: SideName, fromUrl: UrlCredentials): Partial<SessionOptions> => {
    if (fromUrl.user !== undefined) return { user: fromUrl.user, pass: fromUrl.pass ?? "" };
    if (fromUrl.token !== undefined) return { token: fromUrl.token };
    const auth = side === "source" ? topic.sourceAuth : topic.targetAuth;
    if (auth === undefined) return {};
    return authOptions(auth, (seed) => {
      let signer = signers.get(side);
      if (signer === undefined) signers.set(side, (signer = nkeySigner(seed)));
      return signer;
    });
  };
  // Each attempt takes the next server of the list, so a dead one is passed over.
  const attempts = new Map<string, number>();
  const nextUrl = (side: SideName, worker: number | "advisor"): string => {
    const urls = side === "source" ? topic.sourceUrls : topic.targetUrls;
    const key = `${side}/${worker}`;
    const n = attempts.get(key) ?? (typeof worker === "number" ? worker : 0);
    attempts.set(key, n + 1);
    return urls[n % urls.length] ?? urls[0] ?? "nats://localhost:4222";
  };
  const optionsFor = (side: SideName, worker: number | "advisor"): SessionOptions => {
    const { url, host, credentials } = splitUrl(nextUrl(side, worker));
    return {
      clusterId: side === "source" ? topic.sourceClusterId : topic.targetClusterId,
      clientId: stanClientId(topic, worker),
      url,
      tls: tlsFor(side, host),
      ...authFor(side, credentials),
      publishTimeoutMs: topic.publishTimeoutMs,
      ...SESSION_DEFAULTS,
    };
  };
  // async: a certificate file that became unreadable rejects this attempt, it does not throw.
  const open = async (side: SideName, worker: number): Promise<SourceSession | TargetSession> =>
    StanSession.open(optionsFor(side, worker));
  /** The advisory publisher's own session on one cluster (client id `<name>_advisor`). */
  const openAdvisory = async (side: SideName): Promise<TargetSession> =>
    StanSession.open(optionsFor(side, "advisor"));
  return { open, openAdvisory } as StanConnector;
}

export interface StanConnector extends Connector {
  openAdvisory(side: SideName): Promise<TargetSession>;
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
export function authOptions(
  auth: NatsAuth,
  signerFor: (seed: string) => NkeySigner,
): Partial<SessionOptions> {
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
 * it; the library will report the problem).
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
