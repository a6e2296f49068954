/**
 * A TCP fault proxy for integration tests: listens on 127.0.0.1 and forwards every accepted
 * connection to one upstream host:port, with faults an operator meets between a client and a
 * server in production, switchable at any time:
 *
 * - `resetAll()`: every open connection is reset on both ends (RST, not FIN), as a firewall or
 *   load balancer that drops its connection table does. New connections work.
 * - `freeze(ms?)` / `thaw()`: nothing is forwarded in either direction, sockets stay open and
 *   bytes are held (and read further until a high-water mark, like a full TCP window), then
 *   released in order, ends and resets included: a network stall that TCP rides out.
 *   Connections opened during a freeze are accepted and held the same way.
 * - `blackhole()` / `restore()`: bytes are dropped both ways and nothing else happens: no FIN,
 *   no RST, in either direction (a partition, or the peer's host losing power). Connections
 *   opened during it are accepted and dead. Real TCP never loses bytes inside a connection
 *   that goes on, so a connection that lived through a blackhole never forwards again: after
 *   `restore()` it stays dead until an end closes it, and an end that closed during the
 *   blackhole gets its peer reset at `restore()` (the RST a host answers for a socket it no
 *   longer has). Only new connections work again.
 * - `setLatency({ toUpstreamMs, toClientMs })`: one-way delay per direction, order kept
 *   (a round trip of 80 ms is 40 + 40).
 *
 * Per-direction queues keep every byte in order whatever the fault; a direction's socket is
 * paused when more than HIGH_WATER bytes wait for release, so memory stays bounded.
 */
import net from "node:net";

const HOST = "127.0.0.1";
/** Bytes held per direction before the sending socket is paused (as a full TCP window). */
const HIGH_WATER = 16 * 1024 * 1024;
const LOW_WATER = HIGH_WATER / 4;

export interface Latency {
  /** One-way delay of bytes from the client to the upstream. */
  toUpstreamMs?: number;
  /** One-way delay of bytes from the upstream to the client. */
  toClientMs?: number;
}

export interface FaultProxyStats {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections open now (client side). */
  open: number;
  /** Bytes dropped by a blackhole, both directions. */
  droppedBytes: number;
  /** Connections reset by resetAll(). */
  resets: number;
}

export interface FaultProxy {
  /** Listening port on 127.0.0.1. */
  readonly port: number;
  /** "nats://127.0.0.1:PORT": what a client is given instead of the upstream's URL. */
  readonly url: string;
  readonly upstream: { host: string; port: number };
  /** Resets (RST) both ends of every open connection. */
  resetAll(): void;
  /** Holds all traffic; with `ms`, thaws by itself after that long. */
  freeze(ms?: number): void;
  /** Releases what a freeze held, in order, and forwards again. */
  thaw(): void;
  readonly frozen: boolean;
  /** Drops all traffic silently; connections opened from now on are dead. */
  blackhole(): void;
  /** New connections work again (connections that lived through the blackhole do not). */
  restore(): void;
  readonly blackholed: boolean;
  setLatency(latency: Latency): void;
  stats(): FaultProxyStats;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

type Item = { kind: "data"; data: Buffer; due: number } | { kind: "end" | "reset"; due: number };

/** Mode shared by both directions of one proxy. */
interface ProxyState {
  frozen: boolean;
  blackholed: boolean;
  latency: { toUpstreamMs: number; toClientMs: number };
  droppedBytes: number;
}

/** One direction of one connection: bytes read from `from`, written to `to`, in order. */
class Direction {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;
  private paused = false;
  private finished = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly state: ProxyState,
    private readonly delayMs: () => number,
    /** True once this connection lived through a blackhole: it never forwards again. */
    private readonly dead: () => boolean,
  ) {}

  push(kind: Item["kind"], data?: Buffer): void {
    if (this.finished) return;
    if (this.dead()) {
      if (data) this.state.droppedBytes += data.length;
      return;
    }
    // Never earlier than the item before it: order is kept when the latency drops.
    const due = Math.max(Date.now() + this.delayMs(), this.lastDue);
    this.lastDue = due;
    if (kind === "data" && data) {
      this.queue.push({ kind, data, due });
      this.queuedBytes += data.length;
      if (this.queuedBytes > HIGH_WATER && !this.paused) {
        this.paused = true;
        this.from.pause();
      }
    } else if (kind !== "data") {
      this.queue.push({ kind, due });
    }
    this.flush();
  }

  /** Writes every item that is due, unless frozen; schedules itself for the next one. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.finished) return;
    if (this.dead()) {
      this.drop();
      return;
    }
    if (this.state.frozen) return;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0] as Item;
      if (head.due > now) {
        this.timer = setTimeout(() => this.flush(), head.due - now);
        break;
      }
      this.queue.shift();
      if (head.kind === "data") {
        this.queuedBytes -= head.data.length;
        if (!this.to.destroyed) this.to.write(head.data);
      } else if (head.kind === "end") {
        this.finished = true;
        if (!this.to.destroyed) this.to.end();
        break;
      } else {
        this.finished = true;
        if (!this.to.destroyed) this.to.resetAndDestroy();
        break;
      }
    }
    if (this.paused && this.queuedBytes < LOW_WATER) {
      this.paused = false;
      this.from.resume();
    }
  }

  /** Forgets what is held (the connection died in a blackhole). */
  drop(): void {
    for (const item of this.queue) {
      if (item.kind === "data") this.state.droppedBytes += item.data.length;
    }
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.paused) {
      this.paused = false;
      this.from.resume();
    }
  }

  stop(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

/** A client connection and its upstream connection. */
class Pair {
  /** Lived through a blackhole: never forwards again. */
  dead = false;
  /** An end that closed (or errored) while the pair was dead: its peer is reset at restore(). */
  private closedEnd: net.Socket | undefined;
  readonly toUpstream: Direction;
  readonly toClient: Direction;
  private readonly isBlackholed: () => boolean;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    state: ProxyState,
    private readonly onGone: (pair: Pair) => void,
  ) {
    this.dead = state.blackholed;
    this.isBlackholed = () => state.blackholed;
    this.toUpstream = new Direction(
      client,
      upstream,
      state,
      () => state.latency.toUpstreamMs,
      () => this.dead,
    );
    this.toClient = new Direction(
      upstream,
      client,
      state,
      () => state.latency.toClientMs,
      () => this.dead,
    );
    this.wire(client, this.toUpstream, upstream);
    this.wire(upstream, this.toClient, client);
  }

  private wire(socket: net.Socket, out: Direction, peer: net.Socket): void {
    socket.on("data", (data: Buffer) => out.push("data", data));
    // 'end' is a FIN from that side: forwarded in order (allowHalfOpen keeps the other way).
    socket.on("end", () => {
      if (this.dead) this.closedWhileDead(socket);
      else out.push("end");
    });
    // An error (ECONNRESET, EPIPE...) is forwarded as a reset, after the bytes before it.
    socket.on("error", () => {
      if (this.dead) this.closedWhileDead(socket);
      else out.push("reset");
    });
    socket.on("close", () => {
      if (this.dead) this.closedWhileDead(socket);
      else if (peer.destroyed) this.gone();
    });
  }

  /**
   * One end of a dead connection closed. During the blackhole nobody hears of it; once the
   * network is back, the peer's next packet would get a RST: reset it then (or now).
   */
  private closedWhileDead(socket: net.Socket): void {
    this.closedEnd ??= socket;
    if (!this.isBlackholed()) this.resetPeerOfClosedEnd();
  }

  /** Resets the peer of an end that closed while the pair was dead; true if there was one. */
  resetPeerOfClosedEnd(): boolean {
    const closed = this.closedEnd;
    if (closed === undefined) return false;
    const peer = closed === this.client ? this.upstream : this.client;
    if (!peer.destroyed) peer.resetAndDestroy();
    this.destroy();
    return true;
  }

  /** Both sockets are gone. */
  private gone(): void {
    this.toUpstream.stop();
    this.toClient.stop();
    this.onGone(this);
  }

  reset(): void {
    this.toUpstream.stop();
    this.toClient.stop();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (!this.upstream.destroyed) this.upstream.resetAndDestroy();
    this.onGone(this);
  }

  destroy(): void {
    this.toUpstream.stop();
    this.toClient.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.onGone(this);
  }

  flush(): void {
    this.toUpstream.flush();
    this.toClient.flush();
  }
}

/** Starts a proxy on a free port of 127.0.0.1 in front of `upstream`. */
export async function startFaultProxy(upstream: {
  host?: string;
  port: number;
}): Promise<FaultProxy> {
  const target = { host: upstream.host ?? HOST, port: upstream.port };
  const state: ProxyState = {
    frozen: false,
    blackholed: false,
    latency: { toUpstreamMs: 0, toClientMs: 0 },
    droppedBytes: 0,
  };
  const pairs = new Set<Pair>();
  let accepted = 0;
  let resets = 0;
  let thawTimer: NodeJS.Timeout | undefined;

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    accepted++;
    const up = net.connect({ ...target, allowHalfOpen: true, noDelay: true });
    const pair = new Pair(client, up, state, (p) => pairs.delete(p));
    pairs.add(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const thaw = (): void => {
    if (thawTimer) clearTimeout(thawTimer);
    thawTimer = undefined;
    state.frozen = false;
    for (const pair of pairs) pair.flush();
  };

  return {
    port,
    url: `nats://${HOST}:${port}`,
    upstream: target,
    resetAll() {
      for (const pair of [...pairs]) {
        resets++;
        pair.reset();
      }
    },
    freeze(ms?: number) {
      state.frozen = true;
      if (thawTimer) clearTimeout(thawTimer);
      thawTimer = ms === undefined ? undefined : setTimeout(thaw, ms);
    },
    thaw,
    get frozen() {
      return state.frozen;
    },
    blackhole() {
      state.blackholed = true;
      for (const pair of pairs) {
        pair.dead = true;
        pair.flush(); // drops what was queued
      }
    },
    restore() {
      state.blackholed = false;
      for (const pair of [...pairs]) pair.resetPeerOfClosedEnd();
    },
    get blackholed() {
      return state.blackholed;
    },
    setLatency(latency: Latency) {
      state.latency = {
        toUpstreamMs: latency.toUpstreamMs ?? 0,
        toClientMs: latency.toClientMs ?? 0,
      };
    },
    stats() {
      return { accepted, open: pairs.size, droppedBytes: state.droppedBytes, resets };
    },
    async close() {
      if (thawTimer) clearTimeout(thawTimer);
      for (const pair of [...pairs]) pair.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
