/**
 * The security blocks: `tls` and `source_auth` / `target_auth` (top level and per topic),
 * `http_tls` and `http_basic_auth`; their schemas and their raw values.
 */
import type { Schema } from "./setting";

export interface RawTls {
  ca: string | null;
  cert: string | null;
  key: string | null;
  scheme: "file" | "manual" | "puppet" | null;
  ssl_dir: string | null;
  identity: string | null;
  server_name: string | null;
}

export const tlsSchema: Schema<RawTls> = {
  ca: {
    doc: "Path of the CA bundle (PEM, one or more CA certificates, e.g. the source's and the target's) the server certificate is verified against; the system CAs when not given.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  cert: {
    doc: "Path of the client certificate (PEM), for servers that verify clients (mutual TLS).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  key: {
    doc: "Path of the client private key (PEM, not encrypted).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  scheme: {
    doc: "Original tool's setting: file or manual use ca/cert/key (relative to ssl_dir when set); puppet finds them in ssl_dir by identity.",
    format: "sr-enum",
    values: ["file", "manual", "puppet"],
    default: null,
    nullable: true,
    defaultText: "file",
  },
  ssl_dir: {
    doc: "Original tool's setting: directory that relative ca/cert/key paths (or the puppet layout) are in.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  identity: {
    doc: "Original tool's setting: certificate name, used by scheme puppet (`certs/<identity>.pem`, `private_keys/<identity>.pem`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  server_name: {
    doc: "Name the server certificate must be valid for (also sent as SNI), when it differs from the host in the URL. The name is always verified.",
    format: "sr-text",
    default: null,
    nullable: true,
    defaultText: "host of the URL",
  },
};

export interface RawAuth {
  user: string | null;
  password: string | null;
  password_file: string | null;
  token: string | null;
  token_file: string | null;
  nkey_seed: string | null;
  nkey_seed_file: string | null;
  credentials: string | null;
}

export const authSchema: Schema<RawAuth> = {
  user: {
    doc: "User name; needs password or password_file.",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  password: {
    doc: "Password for user. Write it as `${VARIABLE}` to take it from the environment.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  password_file: {
    doc: "File holding the password for user (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  token: {
    doc: "Authorization token (the server's --auth).",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  token_file: {
    doc: "File holding the token (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  nkey_seed: {
    doc: "User NKey seed (`SU...`): the client signs the server's nonce with it.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  nkey_seed_file: {
    doc: "File holding the user NKey seed (as written by `nk -gen user`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
  credentials: {
    doc: "NATS credentials file (`.creds`: user JWT and NKey seed, as written by `nsc`).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
};

export interface RawHttpTls {
  cert: string;
  key: string;
}

export const httpTlsSchema: Schema<RawHttpTls> = {
  cert: {
    doc: "Path of the HTTPS server certificate (PEM; may include the chain).",
    format: "sr-text",
    default: null,
  },
  key: {
    doc: "Path of the HTTPS server private key (PEM, not encrypted).",
    format: "sr-text",
    default: null,
  },
};

export interface RawBasicAuth {
  user: string;
  password: string | null;
  password_file: string | null;
}

export const basicAuthSchema: Schema<RawBasicAuth> = {
  user: {
    doc: "User name Prometheus sends.",
    format: "sr-text",
    default: null,
  },
  password: {
    doc: "Password Prometheus sends; give this or password_file.",
    format: "sr-text",
    default: null,
    nullable: true,
    sensitive: true,
  },
  password_file: {
    doc: "File holding the password (one trailing newline is ignored).",
    format: "sr-text",
    default: null,
    nullable: true,
  },
};
