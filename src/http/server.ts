/**
 * The HTTP endpoints: GET /metrics (Prometheus text), GET /healthz (readiness: 200 when every
 * topic is healthy, 503 with per-topic detail otherwise), GET /livez (liveness: the process
 * and its event loop answer; nothing else is checked, so a broken cluster never restarts us).
 * Kubernetes: livenessProbe → /livez, readinessProbe → /healthz.
 *
 * Only GET and HEAD; no request bodies are read (a GET or HEAD that carries one gets 413, and
 * every request with a body closes its connection); errors answer JSON without stacks. The same
 * app is served on the main port and on each distinct extra port (the original `monitor` key),
 * over HTTPS when a certificate is configured. Basic authentication, when configured, guards
 * /metrics only: probes cannot send credentials, and /healthz shows no secrets.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import express from "express";
import type { NextFunction, Request, Response } from "express";
import type { Registry } from "../metrics/metrics";
import { ReplicatorError, errorText } from "../errors";
import type { Logger } from "../logging/logger";
import type { ConnectionState, TopicStatus } from "../replicator/status";
import { isStandby, isTopicHealthy } from "../replicator/status";
import { redactText, redactUrl } from "../util/redact";

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** More ports serving the same endpoints; duplicates of another port are ignored, 0 = free. */
  extraPorts?: number[];
  registry: Registry;
  status: () => TopicStatus[];
  logger: Logger;
  /** Serve HTTPS with these PEM files (read at start). */
  tls?: { cert: string; key: string };
  /** Credentials /metrics requires. */
  basicAuth?: { user: string; password: string };
}

export interface HttpServer {
  /** Listens on every port; `ports[0]` is the main port, then the extra ports in order. */
  start(): Promise<{ ports: number[] }>;
  /** Stops listening and closes open connections. Safe to call more than once. */
  stop(): Promise<void>;
}

const ROUTES = ["/metrics", "/healthz", "/livez"];
/** Request line and headers; Node's default is 16 KiB, a scraper or a probe needs far less. */
const MAX_HEADER_BYTES = 8 * 1024;

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const log = options.logger.child({ component: "http" });
  const app = createApp(options, log);
  let servers: http.Server[] = [];
  let started = false;

  const stop = async (): Promise<void> => {
    const closing = servers;
    servers = [];
    started = false;
    await Promise.all(closing.map(closeServer));
  };

  return {
    start: async () => {
      if (started) throw new ReplicatorError("http server already started");
      started = true;
      try {
        const tls = options.tls && readTls(options.tls);
        for (const port of listenPorts(options.port, options.extraPorts ?? [])) {
          servers.push(await listen(app, options.host, port, log, tls));
        }
      } catch (err) {
        await stop();
        throw err;
      }
      const ports = servers.map((s) => (s.address() as AddressInfo).port);
      log.info("http listening", {
        host: options.host,
        ports,
        scheme: options.tls ? "https" : "http",
        metricsAuth: options.basicAuth ? "basic" : "none",
      });
      return { ports };
    },
    stop,
  };
}

function createApp(options: HttpServerOptions, log: Logger): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("env", "production");
  app.set("query parser", false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.set({ "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
    if (hasBody(req)) {
      // Never read: the connection is closed after the answer instead of draining the body.
      res.set("Connection", "close");
      if (req.method === "GET" || req.method === "HEAD") {
        res.status(413).json({ error: "request body not accepted" });
        return;
      }
    }
    next();
  });

  const checkCredentials = options.basicAuth ? basicAuthCheck(options.basicAuth) : undefined;
  app.get("/metrics", async (req: Request, res: Response) => {
    if (checkCredentials && !checkCredentials(req.headers.authorization)) {
      log.debug("metrics request without valid credentials", { remote: req.socket.remoteAddress });
      res
        .set("WWW-Authenticate", 'Basic realm="stream-replicator metrics", charset="UTF-8"')
        .status(401)
        .json({ error: "unauthorized" });
      return;
    }
    const text = await options.registry.metrics();
    res.set("Content-Type", options.registry.contentType).send(text);
  });

  app.get("/healthz", (_req: Request, res: Response) => {
    const report = healthReport(options.status());
    res.status(report.status === "unhealthy" ? 503 : 200).json(report);
  });

  app.get("/livez", (_req: Request, res: Response) => {
    res.json({ status: "alive" });
  });

  app.all(ROUTES, (_req: Request, res: Response) => {
    res.set("Allow", "GET, HEAD").status(405).json({ error: "method not allowed" });
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: "not found" });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = clientErrorStatus(err) ?? 500;
    const fields = { method: req.method, path: req.path, status, err: errorText(err) };
    if (status >= 500) log.error("http request failed", fields);
    else log.debug("http request rejected", fields);
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    const text = (http.STATUS_CODES[status] ?? "error").toLowerCase();
    res.status(status).json({ error: text });
  });
  return app;
}

function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * A checker of `Authorization: Basic ...` headers. Both sides are hashed before the
 * constant-time comparison, so neither the length nor the content leaks through timing.
 */
function basicAuthCheck(expected: {
  user: string;
  password: string;
}): (header: string | undefined) => boolean {
  const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
  const want = digest(`${expected.user}:${expected.password}`);
  return (header) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
    const given = m?.[1] === undefined ? "" : Buffer.from(m[1], "base64").toString("utf8");
    return timingSafeEqual(digest(given), want) && m !== null;
  };
}

/** Status of a 4xx error thrown by express itself (bad URL encoding...), else undefined. */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status;
  const code = typeof s === "number" ? s : (err as { statusCode?: unknown }).statusCode;
  return typeof code === "number" && code >= 400 && code < 500 ? code : undefined;
}

// ---------------------------------------------------------------------------------------------
// /healthz body

export interface SideHealth {
  state: ConnectionState["kind"];
  since: string | null;
  attempt?: number;
  lastError?: string;
}

export interface TopicHealth {
  name: string;
  topic: string;
  targetTopic: string;
  healthy: boolean;
  /** A hot standby: another process replicates this topic; this one takes over when it goes. */
  standby: boolean;
  /** One line per reason the topic is not healthy; empty when healthy. */
  problems: string[];
  sourceUrls: string[];
  targetUrls: string[];
  stalled?: { since: string | null; sequence: number; reason: string };
  workers: {
    worker: number;
    clientId: string;
    subscribed: boolean;
    source: SideHealth;
    target: SideHealth;
  }[];
}

export interface HealthReport {
  /** `standby`: healthy, and at least one topic waits as a hot standby. */
  status: "ok" | "standby" | "unhealthy";
  topics: TopicHealth[];
}

/** The /healthz body. URLs and error texts are redacted again here, whatever the caller did. */
export function healthReport(topics: TopicStatus[]): HealthReport {
  const out = topics.map(topicHealth);
  const status = !out.every((t) => t.healthy)
    ? "unhealthy"
    : out.some((t) => t.standby)
      ? "standby"
      : "ok";
  return { status, topics: out };
}

function topicHealth(t: TopicStatus): TopicHealth {
  const problems: string[] = [];
  const workers = t.workers.map((w) => {
    const source = sideHealth(w.source);
    const target = sideHealth(w.target);
    for (const [side, h] of [
      ["source", source],
      ["target", target],
    ] as const) {
      if (h.state === "up" || isStandby(w)) continue;
      const attempt = h.attempt === undefined ? "" : ` (attempt ${h.attempt})`;
      const error = h.lastError === undefined ? "" : `: ${h.lastError}`;
      problems.push(`worker ${w.worker} ${side} ${h.state} since ${h.since}${attempt}${error}`);
    }
    if (!w.subscribed && !isStandby(w)) problems.push(`worker ${w.worker} not subscribed`);
    return { worker: w.worker, clientId: w.clientId, subscribed: w.subscribed, source, target };
  });
  const health: TopicHealth = {
    name: t.name,
    topic: t.topic,
    targetTopic: t.targetTopic,
    healthy: isTopicHealthy(t),
    standby: t.workers.length > 0 && t.workers.every(isStandby),
    problems,
    sourceUrls: t.sourceUrls.map(redactUrl),
    targetUrls: t.targetUrls.map(redactUrl),
    workers,
  };
  if (t.stalled) {
    const reason = redactText(t.stalled.reason);
    const since = isoTime(t.stalled.since);
    health.stalled = { since, sequence: t.stalled.sequence, reason };
    problems.unshift(`stalled at sequence ${t.stalled.sequence} since ${since}: ${reason}`);
  }
  return health;
}

function sideHealth(s: ConnectionState): SideHealth {
  const h: SideHealth = { state: s.kind, since: isoTime(s.since) };
  if (s.kind === "connecting" || s.kind === "reconnecting") {
    h.attempt = s.attempt;
    if (s.lastError !== undefined) h.lastError = redactText(s.lastError);
  }
  return h;
}

function isoTime(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

// ---------------------------------------------------------------------------------------------
// Listening

function listenPorts(main: number, extra: number[]): number[] {
  const ports = [main];
  for (const p of extra) if (p === 0 || !ports.includes(p)) ports.push(p);
  return ports;
}

function readTls(files: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ReplicatorError(`cannot read the HTTPS ${what} ${path}: ${errorText(err)}`, {
        cause: err,
      });
    }
  };
  return { cert: read("certificate", files.cert), key: read("key", files.key) };
}

function listen(
  app: express.Express,
  host: string,
  port: number,
  log: Logger,
  tls: { cert: Buffer; key: Buffer } | undefined,
): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const settings = { maxHeaderSize: MAX_HEADER_BYTES };
    const server = tls
      ? https.createServer({ ...settings, ...tls }, app)
      : http.createServer(settings, app);
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    const onStartError = (err: Error): void => {
      reject(
        new ReplicatorError(`cannot listen on ${host}:${port}: ${err.message}`, { cause: err }),
      );
    };
    server.once("error", onStartError);
    server.listen(port, host, () => {
      server.off("error", onStartError);
      server.on("error", (err) => log.error("http server error", { port, err }));
      resolve(server);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
