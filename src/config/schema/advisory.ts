/** A topic's advisory block (`topics.<name>.advisory`): its schema and its raw values. */
import type { Schema } from "./setting";

export interface RawAdvisory {
  target: string;
  cluster: "source" | "target";
  age: string;
  interval: string | null;
}

export const advisorySchema: Schema<RawAdvisory> = {
  target: {
    doc: "Channel the advisories are published to.",
    format: "sr-text",
    default: null,
  },
  cluster: {
    doc: "Cluster the advisories are published to.",
    format: "sr-enum",
    values: ["source", "target"],
    default: "target",
  },
  age: {
    doc: "A sender not seen for this long gets a timeout advisory.",
    format: "sr-duration",
    default: null,
    min: "1s",
  },
  interval: {
    doc: "How often tracked senders are checked for timeout and expire.",
    format: "sr-duration",
    default: null,
    nullable: true,
    min: "100ms",
    defaultText:
      "30s, or a quarter of the shorter of advisory.age and age when that is less (at least 1s)",
  },
};
