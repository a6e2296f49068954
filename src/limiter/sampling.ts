/**
 * The sampling limiter of one topic, wired: the Limiter decision per message, the Advisor fed
 * with every value seen, the periodic scrub, check and save timers, and state persistence.
 * Topics without `inspect` never create one, so they pay nothing per message.
 */
import type { Clock } from "../clock";
import type { TopicConfig } from "../config/types";
import { errorText } from "../errors";
import type { Logger } from "../logging/logger";
import { Advisor, checkIntervalMs } from "../advisor/advisor";
import type { AdvisoryEvent, AdvisoryEventType } from "../advisor/advisor";
import { AdvisoryPublisher } from "../advisor/publisher";
import type { PublishFn } from "../advisor/publisher";
import type { SampleDecision, Sampler } from "../replicator/ports";
import { Limiter } from "./limiter";
import { ensureStateDir, loadState, saveState, stateFilePath } from "./state-file";
import { TimeColumn } from "./time-column";
import { ValueTable } from "./value-table";

export interface SamplingHooks {
  tracked(count: number): void;
  saved(seconds: number): void;
  advisory(event: AdvisoryEventType): void;
  advisoryFailed(): void;
}

export interface SamplingOptions {
  topic: TopicConfig;
  stateDir?: string;
  saveIntervalMs: number;
  clock: Clock;
  log: Logger;
  hooks: SamplingHooks;
  /** Publishes on the advisory cluster; required when the topic has `advisory`. */
  publishAdvisory?: PublishFn;
}

const MAX_SCRUB_INTERVAL_MS = 60_000;

export class TopicSampling {
  readonly limiter: Limiter;
  private readonly advisor?: Advisor;
  private readonly publisher?: AdvisoryPublisher;
  private readonly file?: string;
  /** Last-seen times of the advisor, kept apart from last-copied times: a sender that kept
   * sending (skipped) after its copy is not quiet since the copy. */
  private readonly advisorFile?: string;
  private timers: NodeJS.Timeout[] = [];
  private saving?: Promise<void>;

  constructor(private readonly o: SamplingOptions) {
    const t = o.topic;
    if (t.inspect === undefined || t.ageMs === undefined) {
      throw new Error(`topic ${t.key} has no inspect/age: sampling not configured`);
    }
    const advised = t.advisory !== undefined && o.publishAdvisory !== undefined;
    // One table for both: the advisor sees every value the limiter does, so each name is stored
    // once, with a last-copied and a last-seen column.
    const table = new ValueTable({ columns: advised ? 2 : 1 });
    this.limiter = new Limiter({
      inspect: t.inspect,
      updateFlag: t.updateFlag,
      ageMs: t.ageMs,
      clock: o.clock,
      values: new TimeColumn(table, 0),
    });
    if (t.advisory && o.publishAdvisory) {
      this.advisor = new Advisor({
        inspect: t.inspect,
        advisoryAgeMs: t.advisory.ageMs,
        expireAgeMs: t.ageMs,
        replicator: t.name,
        clock: o.clock,
        values: new TimeColumn(table, 1),
      });
      this.publisher = new AdvisoryPublisher({
        subject: t.advisory.target,
        publish: o.publishAdvisory,
        onPublished: (e) => o.hooks.advisory(e.event),
        onAttemptFailed: (e, err, attempt) =>
          o.log.debug("advisory publish failed", {
            event: e.event,
            attempt,
            error: errorText(err),
          }),
        onDropped: (e, err) => {
          o.hooks.advisoryFailed();
          o.log.warn("advisory dropped", { event: e.event, error: errorText(err) });
        },
      });
    }
    if (o.stateDir) {
      this.file = stateFilePath(o.stateDir, t.name);
      if (this.advisor) this.advisorFile = stateFilePath(o.stateDir, `${t.name}.advisor`);
    }
  }

  /** The per-message decision, as the copy step sees it. */
  readonly sampler: Sampler = {
    decide: (data: Buffer): SampleDecision => {
      const d = this.limiter.decide(data);
      if (d.value !== undefined && this.advisor) this.publish(this.advisor.seen(d.value));
      if (d.action === "skip") return { copy: false };
      const ticket = d.ticket;
      if (!ticket) return { copy: true, reason: d.reason };
      return {
        copy: true,
        reason: d.reason,
        confirm: () => this.limiter.confirm(ticket),
        release: () => this.limiter.release(ticket),
      };
    },
  };

  /** Loads saved state (a bad file only warns) and starts the timers. */
  async start(): Promise<void> {
    const t = this.o.topic;
    if (this.o.stateDir && this.file) {
      await ensureStateDir(this.o.stateDir);
      const now = this.o.clock.now();
      const { loaded, warning, stale } = await loadState(
        this.file,
        { ageMs: t.ageMs ?? 0, now, expect: { topic: t.name, inspect: t.inspect } },
        this.limiter.copied,
      );
      if (warning) this.o.log.warn("limiter state not loaded, starting empty", { warning });
      else this.o.log.info("limiter state loaded", { restored: loaded, stale, file: this.file });
      if (this.advisor && this.advisorFile) {
        const seen = await loadState(
          this.advisorFile,
          { ageMs: t.ageMs ?? 0, now, expect: { topic: `${t.name}.advisor`, inspect: t.inspect } },
          this.advisor.lastSeen,
        );
        // A file from before advisor state was kept: last-copied is the best estimate there is.
        if (seen.warning) this.advisor.lastSeen.copyNewerFrom(this.limiter.copied);
      }
      this.every(this.o.saveIntervalMs, () => void this.save());
    }
    const ageMs = t.ageMs ?? MAX_SCRUB_INTERVAL_MS;
    this.every(Math.min(MAX_SCRUB_INTERVAL_MS, Math.max(1_000, ageMs / 4)), () => {
      this.limiter.scrub();
      this.o.hooks.tracked(this.limiter.size);
    });
    if (this.advisor && t.advisory) {
      const interval = checkIntervalMs(t.advisory.ageMs, ageMs, t.advisory.intervalMs);
      this.every(interval, () => this.publish(this.advisor?.check() ?? []));
    }
    this.o.hooks.tracked(this.limiter.size);
  }

  /** Publishes the number of tracked values (called by the app's gauge refresher). */
  refreshGauges(): void {
    this.o.hooks.tracked(this.limiter.size);
  }

  /** Stops the timers, saves the state a last time and flushes advisories (bounded). */
  async stop(timeoutMs: number): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.save();
    await this.publisher?.stop(timeoutMs);
  }

  /** Saves now unless a save is already running. Failures are logged, never thrown. */
  save(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (this.saving) return this.saving;
    const file = this.file;
    const started = performance.now();
    const { name, inspect } = this.o.topic;
    const advisorFile = this.advisorFile;
    const advisor = this.advisor;
    this.saving = saveState(file, this.limiter.copied, { topic: name, inspect })
      .then(async (result) => {
        if (advisorFile && advisor) {
          await saveState(advisorFile, advisor.lastSeen, { topic: `${name}.advisor`, inspect });
        }
        return result;
      })
      .then(
        ({ count }) => {
          const seconds = (performance.now() - started) / 1000;
          this.o.hooks.saved(seconds);
          this.o.log.debug("limiter state saved", { count, seconds, file });
        },
        (err: unknown) =>
          this.o.log.warn("limiter state not saved", { error: errorText(err), file }),
      )
      .finally(() => (this.saving = undefined));
    return this.saving;
  }

  private publish(events: readonly AdvisoryEvent[]): void {
    if (events.length > 0) this.publisher?.enqueue(...events);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
