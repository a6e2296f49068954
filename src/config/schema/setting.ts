/**
 * The shape of a schema entry. The schemas in this folder are the single source of truth for
 * every setting's YAML key, environment variable, default and documentation
 * (docs/configuration.md is generated from them by scripts/gen-config-doc.ts). Values are as
 * written in YAML (durations as "30s"); the loader turns them into the typed AppConfig.
 *
 * Convict cannot model a map of arbitrary names, so `topics`, and the `tls`, `advisory`, auth
 * and HTTP security blocks, are declared as opaque mappings and each entry is validated by its
 * own convict instance built from `topicSchema`, `tlsSchema`, `advisorySchema`, `authSchema`,
 * `httpTlsSchema` or `basicAuthSchema`.
 *
 * An entry marked `sensitive` holds a secret (or a block of them): its value is never shown in
 * an error message.
 */
import type convict from "convict";

/** Extra keys our formats read from a schema entry (convict passes the entry to `validate`). */
export interface SettingSchema<T> extends convict.SchemaObj<T> {
  doc: string;
  /** sr-int: inclusive bounds. sr-duration: inclusive bounds as durations, e.g. "1s". */
  min?: number | string;
  max?: number | string;
  /** sr-enum: the allowed values. */
  values?: readonly string[];
  /** Shown in the docs instead of `default` when the default is derived from other keys. */
  defaultText?: string;
}

export type Schema<T> = { [K in keyof T]-?: SettingSchema<T[K]> };

/** Any block's schema, as the validator and the docs walk it. */
export type BlockSchema = Readonly<Record<string, SettingSchema<unknown>>>;
