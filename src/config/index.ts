/** The configuration: the only folder that imports convict. */
export { loadConfig } from "./load";
export type { ConfigOverrides, LoadOptions } from "./load";
export { parseDuration } from "./duration";
export { CONFIG_ENV, ENV_VARS, describeSettings } from "./schema";
export type { SettingDoc } from "./schema";
export type * from "./types";
