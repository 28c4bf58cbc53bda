import { readFileSync } from "node:fs";
import { join } from "node:path";

const file = join(import.meta.dirname, "..", "..", "infra", "grafana", "crop-map.dashboard.json");

/** Every metric name the Grafana dashboard's queries use. */
export function dashboardMetrics(): Set<string> {
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as { panels: { targets: { expr: string }[] }[] };
  const names = new Set<string>();
  for (const panel of dashboard.panels)
    for (const target of panel.targets)
      for (const match of target.expr.matchAll(/\b(crop_map_[a-z_]+|temporal_[a-z_]+)/g))
        names.add(match[1] as string);
  return names;
}
