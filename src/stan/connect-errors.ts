/**
 * Connect failures in words an operator can act on: the client's own text, plus what to
 * check for the mistakes met in practice (TLS files, server names, credentials, cluster id).
 */
import { errorText } from "../errors";

/** Texts that read better as sentences. */
const RENAMED: ReadonlyArray<[RegExp, string]> = [
  [/^no answer from _STAN\.discover\./, "no streaming server answered on this cluster id"],
  [
    /^no responders on _STAN\.discover\./,
    "no streaming server serves this cluster id right now (no leader yet, or the wrong id)",
  ],
  // OpenSSL's own text is a long line of library internals.
  [/alert certificate required/, "the server requires a client certificate"],
  [/alert (bad certificate|unknown ca)/, "the server refused the client certificate"],
  [
    /clientID already registered/,
    "client id still registered on the server (an earlier session has not been released yet)",
  ],
];

/** What to check, appended to the text. */
const HINTS: ReadonlyArray<[RegExp, string]> = [
  [
    /unable to verify|self[- ]signed|unable to get (local )?issuer|certificate has expired/i,
    "TLS: the server's certificate is not trusted (check tls.ca)",
  ],
  [
    /Hostname\/IP does not match/i,
    "TLS: the server's certificate is not valid for this host (check the URL or tls.server_name)",
  ],
  [
    /requires a client certificate|refused the client certificate/i,
    "TLS: the server wants a client certificate it trusts (check tls.cert and tls.key)",
  ],
  [
    /does not support a secure connection/i,
    "TLS is configured but the server has none (use disable_source_tls / disable_target_tls)",
  ],
  [
    /requires a secure connection/i,
    "the server requires TLS (add a tls block or use a tls:// URL)",
  ],
  [
    /Authorization Violation|Authentication Timeout|requires an Nkey signature/i,
    "check the credentials (source_auth / target_auth or the URL)",
  ],
  [/no streaming server answered/, "check source_cluster_id / target_cluster_id"],
  [/no streaming server serves/, "retrying; check the cluster id if it persists"],
];

/**
 * `tls`: whether this attempt used TLS. A TLS 1.3 server that wants a client certificate
 * rejects one after the client's side of the handshake is done, and the client then sees the
 * server's alert or, depending on timing, only a reset connection.
 */
export function describeConnectError(
  err: unknown,
  attempt: { tls: boolean } = { tls: false },
): string {
  let text = errorText(err).replace(/^'(.*)'$/, "$1");
  if (attempt.tls && /ECONNRESET|socket hang up/.test(text)) {
    return `${text} during the TLS handshake (a server that requires a client certificate does this: check tls.cert and tls.key)`;
  }
  const renamed = RENAMED.find(([pattern]) => pattern.test(text));
  if (renamed !== undefined) text = renamed[1];
  const hint = HINTS.find(([pattern]) => pattern.test(text))?.[1];
  return hint === undefined ? text : `${text} (${hint})`;
}
