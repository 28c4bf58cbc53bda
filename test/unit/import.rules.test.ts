import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cruise, type ICruiseResult, type IForbiddenRuleType } from "dependency-cruiser";
import { describe, expect, it } from "vitest";

// The rules `npm run lint` enforces, applied to small trees of planted files.
const rules = createRequire(import.meta.url)("../../.dependency-cruiser.cjs") as {
  forbidden: IForbiddenRuleType[];
};

async function violations(files: Record<string, string>): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), "import-rules-"));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const folders = [...new Set(Object.keys(files).map((p) => p.split("/")[0] as string))];
  const result = await cruise(folders, {
    baseDir: root,
    validate: true,
    ruleSet: { forbidden: rules.forbidden },
    tsPreCompilationDeps: true,
  });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe("import rules", () => {
  it("pass a tree whose imports run down", async () => {
    expect(
      await violations({
        "lib/core/keys.ts": "export const a = 1;\n",
        "lib/contracts/run.contract.ts": 'import { a } from "../core/keys.ts";\nexport const b = a;\n',
        "lib/storage/s3.client.ts":
          'import { b } from "../contracts/run.contract.ts";\nexport const c = b;\n',
        "activities/run.activities.ts":
          'import { c } from "../lib/storage/s3.client.ts";\nexport const d = c;\n',
        "workflows/run.workflow.ts":
          'import type { d } from "../activities/run.activities.ts";\nimport { b } from "../lib/contracts/run.contract.ts";\nexport type D = typeof d;\nexport const e = b;\n',
      }),
    ).toEqual([]);
  });

  it("catch a planted upward import, a product module importing a tool, and a workflow importing an activity", async () => {
    const found = await violations({
      "infra/dev/s3.server.ts": "export const creds = 1;\n",
      "lib/storage/s3.client.ts":
        'import { creds } from "../../infra/dev/s3.server.ts";\nexport const c = creds;\n',
      "scripts/synth/world.spec.ts": "export const first = 2013;\n",
      "lib/pipeline/season.windows.ts":
        'import { first } from "../../scripts/synth/world.spec.ts";\nexport const w = first;\n',
      "activities/run.activities.ts": "export const plan = () => 1;\n",
      "workflows/run.workflow.ts":
        'import { plan } from "../activities/run.activities.ts";\nexport const p = plan;\n',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        "lib-never-imports-up: lib/storage/s3.client.ts -> infra/dev/s3.server.ts",
        "product-never-imports-tools: lib/storage/s3.client.ts -> infra/dev/s3.server.ts",
        "product-never-imports-tools: lib/pipeline/season.windows.ts -> scripts/synth/world.spec.ts",
        "workflows-import-contracts-and-activity-types: workflows/run.workflow.ts -> activities/run.activities.ts",
      ]),
    );
  });

  it("catch a cycle between two of the library's folders, and contracts that import the library", async () => {
    const found = await violations({
      "lib/grid/tile.cover.ts": 'import type { R } from "../region/region.ts";\nexport type C = R;\n',
      "lib/region/region.ts": 'import { ring } from "../grid/planar.ts";\nexport type R = typeof ring;\n',
      "lib/grid/planar.ts": "export const ring = [0];\n",
      "lib/contracts/tile.contract.ts": 'import type { R } from "../region/region.ts";\nexport type T = R;\n',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no-folder-cycles: lib\/(grid|region) -> lib\/(region|grid)$/),
        "contracts-are-pure: lib/contracts/tile.contract.ts -> lib/region/region.ts",
      ]),
    );
  });
});
