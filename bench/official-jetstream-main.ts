/**
 * The replicator's command line with JetStream copies published through the official client
 * (bench/lib/official-jetstream.ts), for the benchmark's `ours-js-ordered-official-publish`
 * contender: the A/B of the JetStream publish path.
 */
import { runCli } from "../src/cli/run";
import { officialPublishConnectors } from "./lib/official-jetstream-connector";

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  exitNow: (code: number): never => process.exit(code),
};

void runCli(process.argv.slice(2), io, { connectorsFor: officialPublishConnectors() }).then(
  (code) => process.exit(code),
);
