import { describe, expect, it } from "vitest";
import { PipelineMetricNames } from "../../lib/metrics/pipeline.metrics.ts";
import { dashboardMetrics } from "../support/grafana.dashboard.ts";

describe("Grafana dashboard", () => {
  it("charts every pipeline metric, by the names the workers export", () => {
    const used = [...dashboardMetrics()].filter((n) => n.startsWith("crop_map_"));
    const base = (n: string) => n.replace(/_(total|bucket|count|sum)$/, "");
    const exported = new Set<string>(Object.values(PipelineMetricNames));
    for (const name of used) expect(exported, name).toContain(base(name));
    for (const name of exported) expect(used.map(base), name).toContain(name);
  });
});
