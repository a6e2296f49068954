/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function, and self and
 * inclusive time by component (a node_modules package, our src/ folder, node internals, GC).
 * Percentages are of busy time: samples that were not (idle).
 */
import { readFileSync } from "node:fs";
import { REPO } from "./contenders";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Share {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  selfByFunction: Share[];
  selfByComponent: Share[];
  inclusiveByComponent: Share[];
}

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0) return u.slice(nm + "node_modules/".length);
  if (u.startsWith(REPO + "/")) u = u.slice(REPO.length + 1);
  return u;
}

function component(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") {
    return functionName.startsWith("(") ? functionName : "(native: V8 builtins / C++)";
  }
  if (url.startsWith("node:")) {
    const [first, second] = url.slice(5).split("/");
    return first === "internal" && second ? `node:internal/${second}` : `node:${first ?? ""}`;
  }
  const u = shortUrl(url);
  if (url.includes("node_modules/")) {
    const parts = u.split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : (parts[0] ?? u);
  }
  const m = /^(?:dist\/)?src\/(?:([^/]+)\/)?/.exec(u);
  return m ? `ours: src/${m[1] ?? u.split("/").pop() ?? ""}` : u;
}

function top(map: Map<string, number>, busy: number, n: number): Share[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 1000),
      pct: Math.round((us / busy) * 1000) / 10,
    }));
}

export function summarizeProfile(file: string, n = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfFn = new Map<string, number>();
  const selfComp = new Map<string, number>();
  const inclComp = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += us;
    const f = node.callFrame;
    if (f.functionName === "(idle)") {
      idle += us;
      return;
    }
    const fn = `${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : "(native)"} ${f.functionName || "(anonymous)"}`;
    selfFn.set(fn, (selfFn.get(fn) ?? 0) + us);
    const comp = component(f);
    selfComp.set(comp, (selfComp.get(comp) ?? 0) + us);
    const onStack = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame && frame.functionName !== "(root)") onStack.add(component(frame));
    }
    for (const c of onStack) inclComp.set(c, (inclComp.get(c) ?? 0) + us);
  });
  const busy = Math.max(1, total - idle);
  return {
    file,
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    selfByFunction: top(selfFn, busy, n),
    selfByComponent: top(selfComp, busy, n),
    inclusiveByComponent: top(inclComp, busy, n),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const rows = (title: string, shares: Share[]): string =>
    `${title}\n${shares.map((x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.name}`).join("\n")}`;
  return [
    `CPU profile ${s.file}: ${s.totalMs} ms sampled, ${s.busyMs} ms busy (percentages of busy time)`,
    rows("Self time by function:", s.selfByFunction),
    rows("Self time by component:", s.selfByComponent),
    rows(
      "Inclusive time by component (a sample counts for every component on its stack):",
      s.inclusiveByComponent,
    ),
  ].join("\n");
}
