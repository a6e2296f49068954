/** A logger that keeps its entries in memory, rendered and redacted as the real one writes them. */
import { loggerOver } from "../../src/logging/logger";
import type { LogFields, LogLevel, Logger } from "../../src/logging/logger";

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** Context and entry fields after rendering and redaction. */
  fields: LogFields;
}

export interface TestLogger extends Logger {
  /** Every entry at or above the level, oldest first; shared with child loggers. */
  readonly entries: LogEntry[];
  clear(): void;
  /** Entries with this exact message. */
  find(message: string): LogEntry[];
}

/** Defaults: level debug, no stacks. */
export function createTestLogger(options: { level?: LogLevel; stacks?: boolean } = {}): TestLogger {
  const entries: LogEntry[] = [];
  const logger = loggerOver((level, message, fields) => entries.push({ level, message, fields }), {
    level: options.level ?? "debug",
    stacks: options.stacks ?? false,
  });
  return {
    ...logger,
    entries,
    clear: () => {
      entries.length = 0;
    },
    find: (message) => entries.filter((e) => e.message === message),
  };
}
