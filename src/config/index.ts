/** The configuration: the only folder that imports convict. */
export { loadConfig } from "./load";
export type { LoadOptions } from "./load";
export { CONFIG_ENV, ENV_VARS } from "./env";
export type { ConfigOverrides } from "./env";
export { parseDuration } from "./duration";
export { describeSettings } from "./docs";
export type { SettingDoc } from "./docs";
export type * from "./types";
