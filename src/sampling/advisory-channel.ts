/**
 * A publish function on a cluster that keeps one session open and opens a new one when the
 * old one ended. Failures reject; the AdvisoryPublisher retries them.
 */
import type { TargetSession } from "../replicator/ports";

export class AdvisoryChannel {
  private session?: Promise<TargetSession>;

  constructor(private readonly open: () => Promise<TargetSession>) {}

  readonly publish = async (subject: string, data: Buffer): Promise<void> => {
    const session = await this.current();
    await session.publish(subject, data);
  };

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.then((session) => session.close()).catch(() => undefined);
  }

  private current(): Promise<TargetSession> {
    if (!this.session) {
      const opening = this.open();
      this.session = opening;
      opening.then(
        (session) =>
          void session.ended.then(() => {
            if (this.session === opening) this.session = undefined;
          }),
        () => {
          if (this.session === opening) this.session = undefined;
        },
      );
    }
    return this.session;
  }
}
