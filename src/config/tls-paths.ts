/**
 * A tls block (top level or per topic), with the original tool's `ssl_dir` and puppet layout
 * resolved to file paths, and every file checked.
 */
import { isAbsolute, join } from "node:path";
import type { RawTls } from "./schema/security";
import { tlsSchema } from "./schema/security";
import { checkTlsFiles } from "./security";
import type { ReadFile } from "./security";
import type { TlsConfig } from "./types";
import { validateBlock } from "./validate";
import type { Fail, Mapping } from "./validate";

export function loadTls(block: Mapping, readFile: ReadFile, fail: Fail): TlsConfig {
  const t = validateBlock<RawTls>(tlsSchema, block, fail);
  const inDir = (path: string): string =>
    t.ssl_dir !== null && !isAbsolute(path) ? join(t.ssl_dir, path) : path;
  let { ca, cert, key } = t;
  if (t.scheme === "puppet") {
    if (t.ssl_dir === null) fail("ssl_dir", "is required with scheme: puppet");
    if (t.identity === null) fail("identity", "is required with scheme: puppet");
    ca ??= join("certs", "ca.pem");
    cert ??= join("certs", `${t.identity}.pem`);
    key ??= join("private_keys", `${t.identity}.pem`);
  }
  if (cert !== null && key === null) fail("key", "is required when cert is given");
  if (key !== null && cert === null) fail("cert", "is required when key is given");
  const tls: TlsConfig = {
    ...(ca !== null ? { ca: inDir(ca) } : {}),
    ...(cert !== null ? { cert: inDir(cert) } : {}),
    ...(key !== null ? { key: inDir(key) } : {}),
    ...(t.server_name !== null ? { serverName: t.server_name } : {}),
  };
  checkTlsFiles(tls, readFile, fail);
  return tls;
}
