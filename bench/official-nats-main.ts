/**
 * The replicator's command line with STAN sessions over the official NATS client
 * (bench/lib/official-nats.ts), for the benchmark's `ours-ordered-official-nats` contender.
 */
import { productConnectors } from "../src/adapters";
import { runCli } from "../src/cli/run";
import { dialOfficial } from "./lib/official-nats";

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  exitNow: (code: number): never => process.exit(code),
};

void runCli(process.argv.slice(2), io, { connectorsFor: productConnectors(dialOfficial) }).then(
  (code) => process.exit(code),
);
