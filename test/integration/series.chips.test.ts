import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLabelGrid } from "../../lib/accuracy/label.grid.ts";
import type { ChipsInput, ChipsSummary } from "../../lib/contracts/chips.contract.ts";
import {
  SeriesDatasetManifestParser,
  SeriesTileManifestParser,
} from "../../lib/contracts/series.dataset.contract.ts";
import { SeriesIndexParser } from "../../lib/contracts/series.index.ts";
import { StackNodata } from "../../lib/contracts/stack.header.ts";
import { ensureExportEnv } from "../../lib/model/export.env.ts";
import { readChunkRow, readStackHeader } from "../../lib/pipeline/stack.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, ref } from "../../lib/storage/s3.objects.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { writeIowaTile } from "../support/series.world.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";

const run = promisify(execFile);
const config = testConfig("series-chips");
const s3 = createS3Client(config);
const TileId = "15TVG";
const Sampling = { perClass: 4, evalPerClass: 3, unlabelled: 25, minDates: 3, maxDates: 20, blockPixels: 16 };
let connection: NativeConnection;
let client: Client;

function seriesChips(
  workflowId: string,
  input: Partial<ChipsInput> & { name: string },
): Promise<ChipsSummary> {
  return createCpuWorker({ connection, config, s3, bundle: testBundle() }).then((worker) =>
    worker.runUntil(
      client.workflow.execute("chipsWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId,
        args: [
          { region: { kind: "state", state: "IA" }, year: 2022, tiles: [TileId], series: Sampling, ...input },
        ],
      }) as Promise<ChipsSummary>,
    ),
  );
}

/** Keys (less the prefix) and last-modified times of the objects under a prefix of a location. */
async function objects(location: { bucket: string; prefix: string }, under: string) {
  const prefix = `${location.prefix}${under}`;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix }));
  return new Map(
    (listed.Contents ?? []).map((o) => [o.Key?.slice(prefix.length) ?? "", o.LastModified?.getTime()]),
  );
}

beforeAll(async () => {
  await writeIowaTile(s3, config, TileId);
  connection = await connectWorker(config);
  client = await connectClient(config);
}, 300_000);
afterAll(async () => {
  await client?.connection.close();
  await connection?.close();
  s3.destroy();
});

describe("series training data (chips --kind series)", () => {
  it("writes SITS-Former's .npz layout from clear dates only, capped per class, with a manifest; a repeat rewrites nothing", async () => {
    const summary = await seriesChips("chips-ia-series", { name: "ia-series" });
    expect(summary.tiles).toEqual([{ tileId: TileId, status: "done" }]);
    const manifest = SeriesDatasetManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, "datasets/ia-series/dataset.json")),
    );
    const { counts, classHistogram } = manifest;
    expect(summary.chips).toBe(counts.TRAIN + counts.VALIDATE + counts.TEST + counts.UNLABELLED);
    // Caps per class in each split; several classes; the unlabelled draw full.
    for (const [split, cap] of [
      ["TRAIN", 4],
      ["VALIDATE", 3],
      ["TEST", 3],
    ] as const) {
      expect(classHistogram[split][0]).toBe(0);
      expect(Math.max(...classHistogram[split])).toBeLessThanOrEqual(cap);
      expect(classHistogram[split].filter((n) => n > 0).length).toBeGreaterThan(3);
    }
    expect(Math.max(...classHistogram.TRAIN)).toBe(4);
    expect(counts.UNLABELLED).toBe(25);
    // Exactly the listed files are there, one folder per split.
    const listed = await objects(config.storage.outputs, "datasets/ia-series/");
    const files = [...listed.keys()].filter((k) => k.endsWith(".npz")).sort();
    expect(files).toEqual(manifest.files.map((f) => f.key.replace("datasets/ia-series/", "")).sort());
    expect(new Set(files.map((f) => f.split("/")[0]))).toEqual(
      new Set(["TRAIN", "VALIDATE", "TEST", "UNLABELLED"]),
    );

    // numpy reads every file as the original's loaders do: ts [T, 6, 5, 5] int16, doy [T], class_label [1].
    const dir = await mkdtemp(join(tmpdir(), "series-"));
    const tile = SeriesTileManifestParser.parse(
      await getJson(s3, ref(config.storage.outputs, `datasets/ia-series/tiles/${TileId}.json`)),
    );
    const kept = new Set(manifest.files.map((f) => f.key));
    const samples = tile.samples.filter((s) => kept.has(s.file.key));
    for (const s of samples)
      await writeFile(
        join(dir, `${s.split}.${s.id}.npz`),
        await getBytes(s3, ref(config.storage.outputs, s.file.key)),
      );
    const read = `
import json, os, sys, numpy as np
out = {}
for name in sorted(os.listdir(sys.argv[1])):
    with np.load(os.path.join(sys.argv[1], name)) as f:
        out[name] = {"files": sorted(f.files), "ts": [str(f["ts"].dtype), list(f["ts"].shape), int(f["ts"].min())],
                     "doy": [int(d) for d in f["doy"]], "label": int(f["class_label"][0]) if "class_label" in f.files else None}
print(json.dumps(out))`;
    const got = JSON.parse(
      (await run(await ensureExportEnv(), ["-c", read, dir], { maxBuffer: 1 << 26 })).stdout,
    );
    for (const s of samples) {
      const g = got[`${s.split}.${s.id}.npz`];
      expect(g.files).toEqual(s.split === "UNLABELLED" ? ["doy", "ts"] : ["class_label", "doy", "ts"]);
      expect(g.ts.slice(0, 2)).toEqual(["int16", [s.dates, 6, 5, 5]]);
      // Clear dates only: no nodata, no fill.
      expect(g.ts[2]).toBeGreaterThan(StackNodata);
      expect(s.dates).toBeGreaterThanOrEqual(3);
      // Dates in order (an S30 and an L30 scene of one day are two observations).
      expect(g.doy).toEqual([...(g.doy as number[])].sort((a, b) => a - b));
      if (s.split !== "UNLABELLED") expect(g.label).toBe(s.label - 1);
    }

    // One series against the staged stacks read directly: the dates on which its whole 5 x 5 patch is clear, each value as staged.
    const sample = samples.find((s) => s.split === "TRAIN") as (typeof samples)[number];
    const seriesDirs = await objects(config.storage.work, `series/2022/${TileId}/`);
    const indexKey = [...seriesDirs.keys()].find((k) => k.endsWith("index.json")) as string;
    const index = SeriesIndexParser.parse(
      await getJson(s3, ref(config.storage.work, `series/2022/${TileId}/${indexKey}`)),
    );
    const [col, row] = sample.id.split("_").slice(1).map(Number) as [number, number];
    const npz = (
      await run(await ensureExportEnv(), [
        "-c",
        "import sys, json, numpy as np; f = np.load(sys.argv[1]); print(json.dumps([f['ts'].astype(int).tolist(), f['doy'].tolist()]))",
        join(dir, `TRAIN.${sample.id}.npz`),
      ])
    ).stdout;
    const [ts, doy] = JSON.parse(npz) as [number[][][][], number[]];
    // The pixel on the staged grid: its column and row on the label grid (from the CDL origin) less the grid's.
    const labelGrid = await readLabelGrid(s3, config.storage.cdl, 2022);
    const colOrigin = Math.round((index.grid.origin[0] - labelGrid.origin[0]) / index.grid.pixelSize);
    const rowOrigin = Math.round((labelGrid.origin[1] - index.grid.origin[1]) / index.grid.pixelSize);
    const expected: { doy: number; patch: number[][][] }[] = [];
    for (const d of index.dates) {
      const header = await readStackHeader(s3, ref(config.storage.work, d.key));
      const patch: number[][][] = Array.from({ length: 6 }, () => []);
      let clear = true;
      for (let dy = -2; dy <= 2 && clear; dy++) {
        const y = row - rowOrigin + dy;
        const chunkRow = await readChunkRow(
          s3,
          ref(config.storage.work, d.key),
          header,
          Math.floor(y / header.chunk),
        );
        for (let b = 0; b < 6; b++) {
          const line: number[] = [];
          for (let dx = -2; dx <= 2; dx++) {
            const x = col - colOrigin + dx;
            const chunk = chunkRow.data[Math.floor(x / header.chunk)] as Int16Array;
            const v = chunk[
              b * header.chunk * header.chunk + (y % header.chunk) * header.chunk + (x % header.chunk)
            ] as number;
            if (v === StackNodata) clear = false;
            line.push(v);
          }
          (patch[b] as number[][]).push(line);
        }
      }
      if (clear) expected.push({ doy: d.doy, patch });
    }
    expect(doy).toEqual(expected.map((e) => e.doy));
    expect(ts).toEqual(expected.map((e) => e.patch));

    // Same workflow id and name again: the tile finds its manifest, nothing is written.
    const again = await seriesChips("chips-ia-series", { name: "ia-series" });
    expect(again).toEqual(summary);
    expect(await objects(config.storage.outputs, "datasets/ia-series/")).toEqual(listed);
  }, 120_000);

  it("refuses, on the command line, series options without --kind series and chips options with it, naming the flag", async () => {
    const base = ["chips", "--state", "IA", "--year", "2022", "--name", "bad", "--tiles", TileId];
    for (const [args, said] of [
      [["--per-class", "5"], /^crop-map: --per-class: a --kind series option$/],
      [["--kind", "series", "--max-chips", "3"], /^crop-map: --max-chips: a chips option/],
      [["--kind", "series", "--patch", "4"], /series\.patch.*must be odd/],
      [["--kind", "pixels"], /^crop-map: --kind 'pixels': expected chips or series$/],
    ] as const) {
      const out = await cli([...base, ...args], configEnv(config));
      expect(out.code).toBe(2);
      expect(out.stderr.trim().split("\n")).toHaveLength(1);
      expect(out.stderr.trim()).toMatch(said);
    }
  }, 60_000);
});
