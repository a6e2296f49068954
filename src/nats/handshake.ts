/**
 * Opening a NATS connection, before the message parser takes over: TCP connect, the server's
 * INFO line, the TLS upgrade, and the credentials for CONNECT. Every step has its own bound.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";

/** NKey authentication: `nkey` is the public key (or `userJwt` a user JWT), `signNonce` signs
 * the server's nonce. */
export interface ConnectAuth {
  user?: string;
  pass?: string;
  token?: string;
  nkey?: string;
  userJwt?: string;
  signNonce?: (nonce: Buffer) => Buffer;
}

export interface ServerInfo {
  max_payload?: number;
  tls_required?: boolean;
  tls_available?: boolean;
  nonce?: string;
}

const CRLF = Buffer.from("\r\n");

export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes("://") ? url : `nats://${url}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: parsed.port === "" ? 4222 : Number(parsed.port) };
}

export function dial(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return whenReady(net.connect({ host, port }), "connect", timeoutMs, "connect");
}

/** Resolves with the socket once `event` came, rejects on its first error or after a bound. */
function whenReady<S extends net.Socket>(
  socket: S,
  event: "connect" | "secureConnect",
  timeoutMs: number,
  what: string,
): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what} timed out`));
    }, timeoutMs);
    socket.once(event, () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reads one CRLF-terminated line before the parser takes over; returns what followed it. */
export function readLine(
  socket: net.Socket,
  timeoutMs: number,
): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (err?: Error, value?: { line: string; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      socket.pause();
      if (err) reject(err);
      else if (value) resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(CRLF);
      if (end >= 0) {
        done(undefined, {
          line: buffered.toString("utf8", 0, end),
          rest: buffered.subarray(end + 2),
        });
      } else if (buffered.length > 64 * 1024) done(new Error("NATS protocol error: line too long"));
    };
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error("connection closed by the server"));
    const timer = setTimeout(() => done(new Error("connect timed out")), timeoutMs);
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.resume();
  });
}

export function parseInfo(line: string): ServerInfo {
  if (!line.startsWith("INFO "))
    throw new Error(`not a NATS server (it said: ${line.slice(0, 40)})`);
  try {
    return JSON.parse(line.slice(5)) as ServerInfo;
  } catch {
    throw new Error("NATS protocol error: unreadable INFO");
  }
}

/**
 * TLS on the open socket. The server's certificate chain and name are always verified: the
 * name is `servername` when the options have one, else the host (IP addresses are checked
 * against the certificate's IP entries, and SNI is not sent for them).
 */
export function upgrade(
  socket: net.Socket,
  host: string,
  options: TlsConnectionOptions,
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  const secure = tls.connect({
    ...options,
    socket,
    host,
    ...(options.servername === undefined && net.isIP(host) === 0 ? { servername: host } : {}),
  });
  return whenReady(secure, "secureConnect", timeoutMs, "TLS handshake");
}

/** The CONNECT fields for the configured credentials. */
export function credentials(o: ConnectAuth, nonce: string | undefined): Record<string, string> {
  if (o.user !== undefined) return { user: o.user, pass: o.pass ?? "" };
  if (o.token !== undefined) return { auth_token: o.token };
  if (o.signNonce === undefined) return {};
  const sig =
    nonce === undefined ? "" : o.signNonce(Buffer.from(nonce, "utf8")).toString("base64url");
  return o.userJwt !== undefined ? { jwt: o.userJwt, sig } : { nkey: o.nkey ?? "", sig };
}
