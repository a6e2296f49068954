/**
 * One advisory as one readable line: `time  event  value  age`, the event coloured on a
 * terminal. Anything that is not an advisory document is shown as it came, never thrown on.
 */

const COLOURS: Record<string, string> = {
  timeout: "\u001b[33m", // yellow: not seen for advisory.age
  recover: "\u001b[32m", // green: seen again
  expire: "\u001b[31m", // red: not seen for the topic's age, forgotten
};
const RESET = "\u001b[0m";

interface Advisory {
  event?: unknown;
  value?: unknown;
  age?: unknown;
  timestamp?: unknown;
}

/** Whole seconds as Go writes durations: 2m5s, 1h0m0s, 45s. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m}m${rest}s`;
  if (m > 0) return `${m}m${rest}s`;
  return `${rest}s`;
}

/** The advisory's value, or undefined when `text` is not an advisory document. */
export function advisoryValue(text: string): string | undefined {
  const a = parse(text);
  return typeof a?.value === "string" ? a.value : undefined;
}

export function advisoryLine(text: string, colour: boolean): string {
  const a = parse(text);
  if (a === undefined || typeof a.event !== "string") return `(not an advisory) ${text}`;
  const time = typeof a.timestamp === "number" ? new Date(a.timestamp * 1000).toISOString() : "-";
  const event = a.event.padEnd(7);
  const shown = colour && COLOURS[a.event] ? `${COLOURS[a.event]}${event}${RESET}` : event;
  const age = typeof a.age === "number" ? `age ${formatAge(a.age)}` : "";
  return `${time}  ${shown}  ${String(a.value ?? "")}  ${age}`.trimEnd();
}

function parse(text: string): Advisory | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Advisory) : undefined;
  } catch {
    return undefined;
  }
}
