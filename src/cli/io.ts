/** Where a command writes, and how it ends the process at once; main.ts gives the real ones. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Ends the process at once (a second stop signal). */
  exitNow(code: number): never;
}
