/**
 * The JetStream connector of the publish-path A/B (`ours-js-ordered-official-publish`): the
 * product's (src/jetstream/connector.ts: stream checked or created before each session, where an
 * ordered chain continues, align_sequences), but its sessions publish through the official
 * client (official-jetstream.ts). `officialPublishConnectors()` puts it in place of the
 * product's for every `target: jetstream` topic.
 */
import type { ConnectorsFor } from "../../src/adapters";
import { productConnectors } from "../../src/adapters";
import type { TopicConfig } from "../../src/config/types";
import { createJetStreamConnector } from "../../src/jetstream/connector";
import type { JetStreamConnector } from "../../src/jetstream/connector";
import { OfficialJetStreamSession } from "./official-jetstream";

/**
 * The product's JetStream connector, with sessions that publish through the official client: the
 * stream check, the chain's start and align_sequences are the product's own.
 */
export function createOfficialJetStreamConnector(topic: TopicConfig): JetStreamConnector {
  return createJetStreamConnector(topic, (o) => {
    const a = o.connect;
    if (a.signNonce !== undefined) {
      throw new Error("the official-publish A/B supports user/password and token only");
    }
    return OfficialJetStreamSession.open({
      connect: {
        url: a.url,
        ...(a.tls !== undefined ? { tls: a.tls } : {}),
        ...(a.user !== undefined ? { user: a.user, pass: a.pass ?? "" } : {}),
        ...(a.token !== undefined ? { token: a.token } : {}),
        name: a.name,
        timeoutMs: a.timeoutMs,
      },
      stream: o.stream,
      publishTimeoutMs: o.publishTimeoutMs,
      ...(o.headers !== undefined ? { copy: o.headers.source } : {}),
      ...(o.chainFrom !== undefined ? { chainFrom: o.chainFrom } : {}),
      ...(o.align !== undefined ? { align: o.align } : {}),
    });
  });
}

/** The product's connectors, with JetStream targets publishing through the official client. */
export function officialPublishConnectors(): ConnectorsFor {
  const product = productConnectors();
  return (topic) => {
    const connectors = product(topic);
    if (topic.target !== "jetstream") return connectors;
    const target = createOfficialJetStreamConnector(topic);
    return { ...connectors, target, prepare: () => target.prepare() };
  };
}
