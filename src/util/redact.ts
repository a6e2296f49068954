/**
 * Credential scrubbing for anything that leaves the process: logs, /healthz, metrics.
 * Plain string work, no URL parser: it must never throw, whatever it is given.
 */

export const REDACTED = "[redacted]";

const SCHEME = /^\s*[a-z][a-z0-9+.-]*:\/\//i;

/** Query parameters whose values are masked, e.g. `?auth_token=...`. */
const QUERY_PARAM = /([?&;])([^=&;#]*)=([^&;#]*)/g;

/**
 * Removes credentials from a URL or a comma separated list of URLs:
 * `nats://user:pass@host:4222` → `nats://host:4222`, `nats://token@host` → `nats://host`.
 * Query parameters named like a secret (`?token=x`) are masked too. Anything that is not a URL
 * comes back unchanged, except that text before an `@` in a scheme-less `user:pass@host` is
 * dropped. When in doubt it removes too much rather than too little.
 */
export function redactUrl(url: string): string {
  if (typeof url !== "string") return "";
  if (!url.includes("@") && !url.includes("=")) return url;
  return url.split(",").map(redactOne).join(",");
}

function redactOne(part: string): string {
  const scheme = SCHEME.exec(part);
  const start = scheme ? scheme[0].length : leadingSpace(part);
  const rest = part.slice(start);
  // Userinfo ends at the last "@" before the query or fragment; a password may itself hold
  // an unescaped "@" or "/", so the first "/" is not trusted as the end of the authority.
  const end = firstIndexOf(rest, ["?", "#"]);
  const at = rest.lastIndexOf("@", end === -1 ? undefined : end);
  const withoutUser = at === -1 ? rest : rest.slice(at + 1);
  return part.slice(0, start) + maskQuery(withoutUser);
}

function maskQuery(s: string): string {
  if (!s.includes("=")) return s;
  return s.replace(QUERY_PARAM, (whole, sep: string, name: string) =>
    isSensitiveKey(decodeSafe(name)) ? `${sep}${name}=${REDACTED}` : whole,
  );
}

/**
 * Removes URL userinfo found anywhere inside free text such as an error message:
 * `connect to nats://u:p@h failed` → `connect to nats://h failed`.
 */
export function redactText(text: string): string {
  if (typeof text !== "string") return "";
  if (!text.includes("@")) return text;
  // "/" may sit inside a password, so only whitespace, quotes, "?", "#" and "," end the userinfo.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s?#"'<>,]*@/gi, "$1");
}

/** True when a string starts like a URL (`scheme://`), so `redactUrl` applies to it. */
export function looksLikeUrl(value: string): boolean {
  return SCHEME.test(value);
}

/** Whole-name fragments that always mark a secret, wherever they appear in a name. */
const SECRET_FRAGMENTS = ["password", "passwd", "passphrase", "secret", "token", "seed", "creds"];
/** Short words that mark a secret only as a whole word of the name (`tlsKey`, not `monkey`). */
const SECRET_WORDS = new Set([
  "pass",
  "pwd",
  "key",
  "nkey",
  "apikey",
  "privatekey",
  "credential",
  "credentials",
  "authorization",
]);

/**
 * True for field or parameter names that hold secrets: password, pass, token, secret, seed,
 * key (as a word: `key`, `tls_key`, `apiKey`) and similar, case-insensitive.
 */
export function isSensitiveKey(name: string): boolean {
  if (typeof name !== "string" || name === "") return false;
  const lower = name.toLowerCase();
  if (SECRET_FRAGMENTS.some((f) => lower.includes(f))) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((w) => SECRET_WORDS.has(w));
}

function firstIndexOf(s: string, chars: string[]): number {
  let min = -1;
  for (const c of chars) {
    const i = s.indexOf(c);
    if (i !== -1 && (min === -1 || i < min)) min = i;
  }
  return min;
}

function leadingSpace(s: string): number {
  return s.length - s.trimStart().length;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
