/**
 * The demo's end: each topic's target read back and compared with what was published and what
 * the replicator says it copied, then one summary line.
 *
 * - A topic that copies every message must hold every registration the source acknowledged,
 *   first arrivals in publish order (ordered mode); none missing is "lost 0", from the target's
 *   own content, not from a metric.
 * - A sampled topic's target must hold every copy it acknowledged to the replicator (the
 *   `copied` count; less, for a stream, the copies it dropped by their message id), each a
 *   published registration, every sender's first among them.
 * - Duplicates: a registration held more than once by a target.
 */
import { HOSTS, registrationNumber } from "./traffic";
import type { Traffic } from "./traffic";
import type { DemoTopic, TopicCounts } from "./topics";
import { zeroCounts } from "./topics";
import type { TargetMessage, Visit } from "./read-back";

export interface TopicResult {
  topic: DemoTopic;
  /** Messages the target holds. */
  read: number;
  distinct: number;
  duplicates: number;
  lost: number;
  /** Held messages that are not a registration the demo published. */
  unexpected: number;
  /** Why the check failed beyond lost and unexpected (order, senders, sequences). */
  problems: string[];
  line: string;
}

/** Collects one topic's target as it is read, then judges it. */
export class TopicCheck {
  private readonly found: Uint8Array;
  private readonly senders = new Uint8Array(HOSTS);
  private read = 0;
  private distinct = 0;
  private duplicates = 0;
  private unexpected = 0;
  private lastFirst = -1;
  private outOfOrder = 0;
  private misaligned = 0;

  constructor(
    readonly topic: DemoTopic,
    private readonly traffic: Traffic,
  ) {
    this.found = new Uint8Array(traffic.published);
  }

  readonly visit: Visit = (m: TargetMessage) => {
    this.read++;
    if (m.sourceSeq !== undefined && m.sourceSeq !== m.seq) this.misaligned++;
    const n = registrationNumber(m.data);
    if (n === undefined || n >= this.found.length) {
      this.unexpected++;
      return;
    }
    if (this.found[n] === 0) {
      this.distinct++;
      this.senders[n % HOSTS] = 1;
      if (n < this.lastFirst) this.outOfOrder++;
      this.lastFirst = n;
    } else {
      this.duplicates++;
    }
    if ((this.found[n] ?? 0) < 255) this.found[n] = (this.found[n] ?? 0) + 1;
  };

  result(counts: TopicCounts = zeroCounts()): TopicResult {
    const t = this.topic;
    const problems: string[] = [];
    let lost: number;
    let what: string;
    if (t.config.inspect === undefined) {
      lost = 0;
      for (let n = 0; n < this.found.length; n++) {
        if (this.found[n] === 0 && this.traffic.acknowledged(n)) lost++;
      }
      what = `${this.traffic.acked - lost} of ${this.traffic.acked} published`;
      if (!t.config.queued) {
        if (this.outOfOrder > 0) problems.push(`${this.outOfOrder} first arrivals out of order`);
        else what += ", first arrivals in order";
      }
    } else {
      // Every copy the target acknowledged is stored, but those a stream dropped by their id.
      const stored = counts.copied - counts.duplicatesSuppressed;
      lost = Math.max(0, stored - this.read);
      const senders = this.senders.reduce((a, b) => a + b, 0);
      const expected = Math.min(HOSTS, this.traffic.acked);
      const held = Math.min(this.read, stored);
      what = `${held} of ${stored} copies acknowledged, ${senders} of ${expected} senders`;
      if (senders < expected) problems.push(`${expected - senders} senders never copied`);
    }
    if (t.config.jetstream?.alignSequences) {
      if (this.misaligned > 0) problems.push(`${this.misaligned} stream sequences != channel's`);
      else what += ", stream sequence = channel sequence";
    }
    if (this.unexpected > 0) problems.push(`${this.unexpected} unexpected messages`);
    const suppressed =
      t.config.target === "jetstream"
        ? ` (${counts.duplicatesSuppressed} dropped by the stream)`
        : "";
    const line =
      `read back ${t.target}: ${this.read} messages; ${what}; ` +
      `${this.duplicates} duplicates${suppressed}, lost ${lost}` +
      (problems.length > 0 ? `; PROBLEM: ${problems.join("; ")}` : "");
    return {
      topic: t,
      read: this.read,
      distinct: this.distinct,
      duplicates: this.duplicates,
      lost,
      unexpected: this.unexpected,
      problems,
      line,
    };
  }
}

/** The one summary line over every topic. */
export function summaryLine(
  traffic: Traffic,
  results: TopicResult[],
  counts: Map<string, TopicCounts>,
): string {
  let copied = 0;
  let skipped = 0;
  for (const r of results) {
    const c = counts.get(r.topic.name) ?? zeroCounts();
    copied += c.copied;
    skipped += c.skipped;
  }
  const duplicates = results.reduce((a, r) => a + r.duplicates, 0);
  const lost = results.reduce((a, r) => a + r.lost, 0);
  const failed = traffic.failed > 0 ? ` (${traffic.failed} refused by the source)` : "";
  return (
    `summary: published ${traffic.acked}${failed}; copied ${copied}, skipped ${skipped}, ` +
    `duplicates ${duplicates}, lost ${lost} (verified by reading the targets back)`
  );
}

export function passed(results: TopicResult[]): boolean {
  return results.every((r) => r.lost === 0 && r.unexpected === 0 && r.problems.length === 0);
}
