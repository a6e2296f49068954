/**
 * `${NAME}` references in the YAML's string values, expanded from the environment at load so
 * secrets need not be written into the file: `password: ${SOURCE_PASSWORD}`. `$${` stands for a
 * literal `${`. Keys, numbers and booleans are left alone. A reference to a variable that is not
 * set, or a `${` that is not a reference, is reported with the path of the value.
 */

/** Reports a problem at a value's dotted path (`topics.cmdb.source_auth.password`). */
export type ExpandFail = (path: string[], problem: string) => never;

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A copy of `value` with every string expanded; the input is not changed. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, fail: ExpandFail): unknown {
  return walk(value, [], env, fail);
}

function walk(value: unknown, path: string[], env: NodeJS.ProcessEnv, fail: ExpandFail): unknown {
  if (typeof value === "string") return expandString(value, path, env, fail);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, String(i)], env, fail));
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k], env, fail);
    return out;
  }
  return value;
}

function expandString(
  text: string,
  path: string[],
  env: NodeJS.ProcessEnv,
  fail: ExpandFail,
): string {
  if (!text.includes("${")) return text;
  return text.replace(REFERENCE, (whole: string, name: string | undefined) => {
    if (whole === "$${") return "${";
    if (!whole.endsWith("}") || name === undefined || !NAME.test(name)) {
      // The text itself is not shown: it may be part of a secret.
      fail(path, "has a ${ that is not a ${NAME} reference (write $${ for a literal ${)");
    }
    const found = env[name];
    if (found === undefined)
      fail(path, `refers to the environment variable ${name}, which is not set`);
    return found;
  });
}
