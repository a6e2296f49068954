/**
 * The saved state of one topic's sampling, two files in the state folder (format: state-file.ts):
 * the limiter's last-copied times in `<topic>.state.jsonl` and, when the topic has advisories,
 * the advisor's last-seen times in `<topic>.advisor.state.jsonl`. Last-seen is kept apart from
 * last-copied: a sender that kept sending (skipped) after its copy is not quiet since the copy.
 *
 * `load()` once at start: a missing or bad file only warns. `save()` on a timer and at stop: one
 * save at a time, failures logged, never thrown.
 */
import type { Clock } from "../clock";
import { errorText } from "../errors";
import type { Logger } from "../logging/logger";
import type { TimeColumn } from "../value-table/time-column";
import { ensureStateDir, loadState, saveState, stateFilePath } from "./state-file";
import type { StateMeta } from "./state-file";

export interface SamplerStateOptions {
  /** The state folder (`state_dir`). */
  dir: string;
  /** The topic's name: the files' names, and the topic in their headers. */
  topic: string;
  /** The inspect key; a file written for another key is not loaded. */
  inspect?: string;
  /** Entries this old or older are not loaded (the topic's age). */
  ageMs: number;
  clock: Clock;
  log: Logger;
  /** The limiter's last-copied times. */
  copied: TimeColumn;
  /** The advisor's last-seen times, when the topic has advisories. */
  seen?: TimeColumn;
  /** A save finished, in this many seconds. */
  onSaved(seconds: number): void;
}

export class SamplerState {
  /** The limiter's file. */
  readonly file: string;
  /** The advisor's file, when there is an advisor. */
  readonly seenFile?: string;
  private readonly meta: StateMeta;
  private readonly seenMeta: StateMeta;
  private saving?: Promise<void>;

  constructor(private readonly o: SamplerStateOptions) {
    this.file = stateFilePath(o.dir, o.topic);
    this.meta = { topic: o.topic, inspect: o.inspect };
    this.seenMeta = { topic: `${o.topic}.advisor`, inspect: o.inspect };
    if (o.seen) this.seenFile = stateFilePath(o.dir, this.seenMeta.topic);
  }

  /** Checks the folder (throws ConfigError when it is not writable), then loads both files. */
  async load(): Promise<void> {
    const { ageMs, clock, log, copied, seen } = this.o;
    await ensureStateDir(this.o.dir);
    const now = clock.now();
    const { loaded, warning, stale, missing } = await loadState(
      this.file,
      { ageMs, now, expect: this.meta },
      copied,
    );
    if (missing) log.info("no limiter state yet, starting empty", { file: this.file });
    else if (warning) log.warn("limiter state not loaded, starting empty", { warning });
    else log.info("limiter state loaded", { restored: loaded, stale, file: this.file });
    if (seen && this.seenFile) {
      const result = await loadState(this.seenFile, { ageMs, now, expect: this.seenMeta }, seen);
      // A file from before advisor state was kept: last-copied is the best estimate there is.
      if (result.warning) seen.copyNewerFrom(copied);
    }
  }

  /** Saves now unless a save is already running (then waits for that one). Never rejects. */
  save(): Promise<void> {
    if (this.saving) return this.saving;
    const { log, copied, seen } = this.o;
    const file = this.file;
    const seenFile = this.seenFile;
    const started = performance.now();
    this.saving = saveState(file, copied, this.meta)
      .then(async (result) => {
        if (seen && seenFile) await saveState(seenFile, seen, this.seenMeta);
        return result;
      })
      .then(
        ({ count }) => {
          const seconds = (performance.now() - started) / 1000;
          this.o.onSaved(seconds);
          log.debug("limiter state saved", { count, seconds, file });
        },
        (err: unknown) => log.warn("limiter state not saved", { error: errorText(err), file }),
      )
      .finally(() => (this.saving = undefined));
    return this.saving;
  }
}
