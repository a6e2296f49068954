// The layering of src/ (.dependency-cruiser.cjs, also run by `npm run lint`): no cycles, the
// core imports no adapter, the NATS client knows no STAN, each library stays in its folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");

test("layering - src/ keeps the rules of .dependency-cruiser.cjs", () => {
  const bin = path.join(REPO, "node_modules", ".bin", "depcruise");
  const run = spawnSync(bin, ["src", "--config", ".dependency-cruiser.cjs"], {
    cwd: REPO,
    encoding: "utf8",
  });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  assert.match(run.stdout, /no dependency violations found \(\d+ modules/);
});
