/**
 * Error classes shared by every component. A `ReplicatorError` always has a
 * message fit for one log line; `cause` carries the underlying error.
 */
export class ReplicatorError extends Error {
  override readonly name: string = "ReplicatorError";
  /** True when trying again later may succeed (network, timeouts, busy client ids). */
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.retriable = options.retriable ?? false;
  }
}

/** A user mistake in the configuration: shown as one line, exit code 2. */
export class ConfigError extends ReplicatorError {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly file?: string,
    readonly topic?: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Found at start, for an operator to fix (a missing stream): one line, exit code 2. */
export class StartupError extends ReplicatorError {
  override readonly name = "StartupError";
}

/** Connecting to or staying connected with a STAN cluster failed. */
export class ConnectionError extends ReplicatorError {
  override readonly name: string = "ConnectionError";
}

/**
 * The client id is held by a live connection of another process: for an ordered worker, the
 * active copy of a hot-standby pair. Retried until it is free.
 */
export class ClientIdInUseError extends ConnectionError {
  override readonly name = "ClientIdInUseError";
}

/** The target did not acknowledge a publish. Only `rejected` is not retriable: a retry cannot fix it. */
export class PublishError extends ReplicatorError {
  override readonly name = "PublishError";
  constructor(
    message: string,
    readonly reason: PublishFailureReason,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause, retriable: reason !== "rejected" });
  }
}

/**
 * Fixed set of reasons, used as a metric label. `no_responders`: nothing received the publish
 * (a cluster without a leader for the channel), answered at once by the NATS server.
 */
export type PublishFailureReason =
  "timeout" | "connection_closed" | "no_responders" | "rejected" | "error";

/** Text of any thrown value, for logs. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
