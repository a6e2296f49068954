/**
 * STAN protobuf messages encoded and decoded by an independent implementation: the
 * google-protobuf classes generated from the same .proto that node-nats-streaming ships. Tests
 * use them to check our codec and to play the server's side.
 */
import assert from "node:assert/strict";

// Generated code without types: the few methods used here, typed at this boundary.
interface PbMessage {
  serializeBinary(): Uint8Array;
  [setter: `set${string}`]: (value: unknown) => void;
}
interface PbClass {
  new (): PbMessage;
  deserializeBinary(bytes: Uint8Array): Record<string, unknown>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pb = (require("node-nats-streaming/lib/pb/protocol_pb") as { pb: Record<string, PbClass> })
  .pb;

export function reference(name: string, fields: Record<string, unknown>): Uint8Array {
  const Class = pb[name];
  assert.ok(Class, name);
  const m = new Class();
  for (const [key, value] of Object.entries(fields)) {
    const set = m[`set${key}`];
    assert.ok(set, `${name} has no set${key}`);
    set.call(m, value);
  }
  return m.serializeBinary();
}

/** Decodes with the reference; the result reads a field by its getter's name, e.g. "ClientId". */
export function parse(name: string, bytes: Uint8Array): (field: string) => unknown {
  const Class = pb[name];
  assert.ok(Class, name);
  const m = Class.deserializeBinary(bytes);
  return (field) => {
    const get = m[`get${field}`];
    assert.ok(typeof get === "function", `${name} has no get${field}`);
    return (get as () => unknown).call(m);
  };
}
