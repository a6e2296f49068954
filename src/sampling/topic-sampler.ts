/**
 * One topic's sampling, wired: the Limiter and the Advisor on one value table, the Sampler the
 * copy step calls per message (sampler.ts), advisories published in the background
 * (advisory-publisher.ts), the periodic work (sampler-timers.ts) and the saved state
 * (sampler-state.ts). Topics without `inspect` never create one, so they pay nothing per message.
 */
import type { Clock } from "../clock";
import type { TopicConfig } from "../config/types";
import { errorText } from "../errors";
import type { Logger } from "../logging/logger";
import type { Sampler } from "../replicator/ports";
import { TimeColumn } from "../value-table/time-column";
import { ValueTable } from "../value-table/value-table";
import { Advisor, checkIntervalMs } from "./advisor";
import type { AdvisoryEvent, AdvisoryEventType } from "./advisor";
import { AdvisoryPublisher } from "./advisory-publisher";
import type { PublishFn } from "./advisory-publisher";
import { Limiter } from "./limiter";
import { createSampler } from "./sampler";
import { SamplerState } from "./sampler-state";
import { SamplerTimers, scrubIntervalMs } from "./sampler-timers";
import type { Repeat } from "./sampler-timers";

/** What sampling reports to metrics (src/metrics/observer.ts makes them). */
export interface SamplingHooks {
  tracked(count: number): void;
  saved(seconds: number): void;
  advisory(event: AdvisoryEventType): void;
  advisoryFailed(): void;
}

export interface TopicSamplerOptions {
  topic: TopicConfig;
  stateDir?: string;
  saveIntervalMs: number;
  clock: Clock;
  log: Logger;
  hooks: SamplingHooks;
  /** Publishes on the advisory cluster; required when the topic has `advisory`. */
  publishAdvisory?: PublishFn;
  /** Runs the periodic work; unref'd intervals by default. */
  repeat?: Repeat;
}

export class TopicSampler {
  readonly limiter: Limiter;
  /** What the copy step calls for each message. */
  readonly sampler: Sampler;
  private readonly publisher?: AdvisoryPublisher;
  private readonly state?: SamplerState;
  private readonly timers: SamplerTimers;

  constructor(private readonly o: TopicSamplerOptions) {
    const { inspect, ageMs, name } = o.topic;
    if (inspect === undefined || ageMs === undefined) {
      throw new Error(`topic ${o.topic.key} has no inspect/age: sampling not configured`);
    }
    const advisory = o.publishAdvisory === undefined ? undefined : o.topic.advisory;
    // One table for both: the advisor sees every value the limiter does, so each name is stored
    // once, with a last-copied and a last-seen column.
    const table = new ValueTable({ columns: advisory ? 2 : 1 });
    const { clock } = o;
    this.limiter = new Limiter({
      inspect,
      updateFlag: o.topic.updateFlag,
      ageMs,
      clock,
      values: new TimeColumn(table, 0),
    });
    let advisor: Advisor | undefined;
    if (advisory && o.publishAdvisory) {
      advisor = new Advisor({
        inspect,
        advisoryAgeMs: advisory.ageMs,
        expireAgeMs: ageMs,
        replicator: name,
        clock,
        values: new TimeColumn(table, 1),
      });
      this.publisher = advisoryPublisher(advisory.target, o.publishAdvisory, o.hooks, o.log);
    }
    this.sampler = createSampler(
      this.limiter,
      advisor && ((value) => this.publish(advisor.seen(value))),
    );
    if (o.stateDir) {
      this.state = new SamplerState({
        dir: o.stateDir,
        topic: name,
        inspect,
        ageMs,
        clock,
        log: o.log,
        copied: this.limiter.copied,
        seen: advisor?.lastSeen,
        onSaved: (seconds) => o.hooks.saved(seconds),
      });
    }
    this.timers = new SamplerTimers({
      save: this.state && { everyMs: o.saveIntervalMs, run: () => void this.save() },
      scrub: {
        everyMs: scrubIntervalMs(ageMs),
        run: () => {
          this.limiter.scrub();
          this.refreshGauges();
        },
      },
      check:
        advisor && advisory
          ? {
              everyMs: checkIntervalMs(advisory.ageMs, ageMs, advisory.intervalMs),
              run: () => this.publish(advisor.check()),
            }
          : undefined,
      repeat: o.repeat,
    });
  }

  /** Loads saved state (a bad file only warns) and starts the timers. */
  async start(): Promise<void> {
    await this.state?.load();
    this.timers.start();
    this.refreshGauges();
  }

  /** Publishes the number of tracked values (called by the app's gauge refresher). */
  refreshGauges(): void {
    this.o.hooks.tracked(this.limiter.size);
  }

  /** Stops the timers, saves the state a last time and flushes advisories (bounded). */
  async stop(timeoutMs: number): Promise<void> {
    this.timers.stop();
    await this.save();
    await this.publisher?.stop(timeoutMs);
  }

  /** Saves now unless a save is already running. Failures are logged, never thrown. */
  save(): Promise<void> {
    return this.state ? this.state.save() : Promise.resolve();
  }

  private publish(events: readonly AdvisoryEvent[]): void {
    if (events.length > 0) this.publisher?.enqueue(...events);
  }
}

/** Publishes a topic's advisories on `subject`, reporting to metrics and logs. */
function advisoryPublisher(
  subject: string,
  publish: PublishFn,
  hooks: SamplingHooks,
  log: Logger,
): AdvisoryPublisher {
  return new AdvisoryPublisher({
    subject,
    publish,
    onPublished: (e) => hooks.advisory(e.event),
    onAttemptFailed: (e, err, attempt) =>
      log.debug("advisory publish failed", { event: e.event, attempt, error: errorText(err) }),
    onDropped: (e, err) => {
      hooks.advisoryFailed();
      log.warn("advisory dropped", { event: e.event, error: errorText(err) });
    },
  });
}
