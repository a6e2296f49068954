/**
 * NATS NKeys for client authentication, with node:crypto only: a user seed (`SU...`) is an
 * Ed25519 private key in NATS' base32 + CRC-16 encoding; the server sends a nonce and the
 * client answers with its public key (`U...`) and the nonce's signature, both in its CONNECT
 * (src/nats/handshake.ts). Credentials files (`.creds`: a user JWT plus
 * the seed) are read here too, so a broken file is a config error at start, not a failed
 * connect later.
 *
 * Errors never contain the seed or any part of it.
 */
import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";

/** An Ed25519 signer for one user NKey. */
export interface NkeySigner {
  /** The public key, `U...` (what the server's authorization block lists). */
  publicKey: string;
  /** Signs the server's nonce (raw Ed25519 signature, 64 bytes). */
  sign(nonce: Buffer): Buffer;
}

const PREFIX_SEED = 18 << 3; // "S"
const PREFIX_USER = 20 << 3; // "U"
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** DER header of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * The signer of a user seed (`SU...`, 58 characters). Throws an Error with a fixed message
 * (never the seed) when it is not one.
 */
export function nkeySigner(seed: string): NkeySigner {
  const raw = decodeSeed(seed.trim());
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, raw]),
    format: "der",
    type: "pkcs8",
  });
  return { publicKey: publicKeyOf(privateKey), sign: (nonce) => sign(null, nonce, privateKey) };
}

/** Encodes 32 random bytes as a user seed. Used to make test identities. */
export function encodeUserSeed(raw: Buffer): string {
  if (raw.length !== 32) throw new Error("an NKey seed has 32 bytes");
  const prefix = Buffer.from([PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3]);
  return encode(Buffer.concat([prefix, raw]));
}

export interface UserCredentials {
  /** The user JWT (not secret by itself, but useless without the seed). */
  jwt: string;
  seed: string;
}

/**
 * Reads a NATS credentials file's text (`nsc` output): the first `---...---` delimited block
 * is the user JWT, the second the user seed. Throws an Error with a fixed message otherwise.
 */
export function parseCredentials(text: string): UserCredentials {
  const blocks = [...text.matchAll(/-{3,}[^\n]*-{3,}\r?\n\s*(\S+)\s*\r?\n\s*-{3,}[^\n]*-{3,}/g)];
  const jwt = blocks[0]?.[1];
  const seed = blocks[1]?.[1];
  if (jwt === undefined) throw new Error("has no user JWT block");
  if (seed === undefined) throw new Error("has no user NKey seed block");
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(jwt)) throw new Error("has a user JWT that is not a JWT");
  nkeySigner(seed); // throws if the seed is not one
  return { jwt, seed };
}

function decodeSeed(seed: string): Buffer {
  const data = decode(seed);
  if (data === undefined || data.length !== 36) throw new Error("is not an NKey seed");
  const payload = data.subarray(0, 34);
  if (crc16(payload) !== data.readUInt16LE(34))
    throw new Error("is not an NKey seed (bad checksum)");
  const kind = (data[0] ?? 0) & 0xf8;
  const role = (((data[0] ?? 0) & 0x07) << 5) | (((data[1] ?? 0) & 0xf8) >> 3);
  if (kind !== PREFIX_SEED) throw new Error("is not an NKey seed");
  if (role !== PREFIX_USER) throw new Error("is not a user NKey seed (it should start with SU)");
  return Buffer.from(data.subarray(2, 34));
}

function publicKeyOf(privateKey: KeyObject): string {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  const raw = Buffer.from(String(jwk.x), "base64url");
  return encode(Buffer.concat([Buffer.from([PREFIX_USER]), raw]));
}

/** Payload + CRC-16 (little endian), base32 without padding. */
function encode(payload: Buffer): string {
  const check = Buffer.alloc(2);
  check.writeUInt16LE(crc16(payload));
  const data = Buffer.concat([payload, check]);
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function decode(text: string): Buffer | undefined {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    const index = ALPHABET.indexOf(char);
    if (index === -1) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** CRC-16/XMODEM (polynomial 0x1021, initial value 0), as NKeys use it. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
