import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { get } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@temporalio/client";
import type { NativeConnection, Worker } from "@temporalio/worker";
import type { Browser, Page } from "puppeteer-core";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../infra/ports.ts";
import { CropClasses } from "../../lib/cdl/classes.ts";
import type { RunInput } from "../../lib/pipeline/run.input.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { planWorld } from "../../lib/synth/world.plan.ts";
import { writeWorld } from "../../lib/synth/world.writer.ts";
import { connectClient, connectWorker } from "../../lib/temporal/connection.ts";
import { bundleWorkflows, createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { decodeOwnPng } from "../support/png.decode.ts";
import { testConfig } from "../support/test.config.ts";
import { startServe } from "../support/viewer.process.ts";

const config = testConfig("viewer");
const s3 = createS3Client(config);
const runId = "viewer-run";
const runFile = (name: string) => ref(config.storage.outputs, `runs/${runId}/${name}`);
/** Where the README's screenshots go, when asked for (CROP_MAP_UPDATE_SCREENSHOTS=1). */
const docs = join(import.meta.dirname, "..", "..", "docs");
const updateScreenshots = process.env.CROP_MAP_UPDATE_SCREENSHOTS === "1";

/** Debian's chromium where installed (.ci/run installs it); the browser checks skip without it. */
const chromium = await promisify(execFile)("which", ["chromium"]).then(
  ({ stdout }) => stdout.trim(),
  () => "",
);

/** The status of a GET of `path` exactly as written. */
function rawStatus(path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(new URL(serve.url), { path }, (response) => {
      response.resume();
      resolve(response.statusCode);
    }).on("error", reject);
  });
}

let serve: Awaited<ReturnType<typeof startServe>>;
let client: Client;
let connection: NativeConnection;

/** One small run of one tile (19TCG over Rhode Island), with both pools in this process. */
async function mapOneTile(): Promise<void> {
  const input: RunInput = {
    runId,
    region: { kind: "state", state: "RI" },
    year: 2022,
    model: "crop-tiny",
    chip: { size: 224, stride: 112 },
    retryRounds: 0,
    inferenceQueue: config.taskQueues.inference,
    tiles: ["19TCG"],
  };
  const bundle = await bundleWorkflows();
  const workers: Worker[] = [
    await createCpuWorker({ connection, config, s3, bundle }),
    await createInferenceWorker({ connection, config, s3 }),
  ];
  const [cpu, inference] = workers as [Worker, Worker];
  await cpu.runUntil(
    inference.runUntil(
      client.workflow.execute("runWorkflow", {
        taskQueue: config.taskQueues.cpu,
        workflowId: runId,
        args: [input],
      }),
    ),
  );
}

beforeAll(async () => {
  await writeWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  connection = await connectWorker(config);
  client = await connectClient(config);
  await mapOneTile();
  serve = await startServe(config, await freePort());
}, 600_000);

afterAll(async () => {
  await serve?.stop();
  await client?.connection.close();
  await connection?.close();
  s3.destroy();
});

describe("crop-map serve over HTTP", () => {
  it("serves a run's files with ranged reads (206) and refuses keys outside the run's folder", async () => {
    const whole = await getBytes(s3, runFile("map.tif"));
    const ranged = await fetch(`${serve.url}runs/${runId}/files/map.tif`, {
      headers: { range: "bytes=100-163" },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 100-163/${whole.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(whole.subarray(100, 164)))).toBe(true);

    const full = await fetch(`${serve.url}runs/${runId}/files/map.tif`);
    expect(full.status).toBe(200);
    expect(Number(full.headers.get("content-length"))).toBe(whole.length);
    await full.arrayBuffer();

    // Sent as written: fetch would fold dot segments before the server saw them.
    await putBytes(s3, ref(config.storage.outputs, "secret.txt"), "not a run's file", "text/plain");
    for (const outside of [
      `/runs/${runId}/files/..%2F..%2Fsecret.txt`,
      `/runs/${runId}/files/%2Fsecret.txt`,
      "/runs/..%2F..%2Fsecret.txt/files/x",
    ]) {
      expect(await rawStatus(outside), outside).toBe(403);
    }
    expect((await fetch(`${serve.url}runs/${runId}/files/no-such-file.tif`)).status).toBe(404);
  });

  it("draws the CDL labels layer the report wrote, on the sampling of map.png and disagreement.png", async () => {
    const page = await (await fetch(`${serve.url}runs/${runId}`)).text();
    expect(page).toContain(`/runs/${runId}/files/labels.png`);
    const response = await fetch(`${serve.url}runs/${runId}/files/labels.png`);
    expect(response.status).toBe(200);
    const labels = decodeOwnPng(Buffer.from(await response.arrayBuffer()));
    const map = decodeOwnPng(await getBytes(s3, runFile("map.png")));
    const disagreement = decodeOwnPng(await getBytes(s3, runFile("disagreement.png")));
    expect([labels.width, labels.height]).toEqual([map.width, map.height]);
    expect([labels.width, labels.height]).toEqual([disagreement.width, disagreement.height]);
    // Pixel for pixel: the labels equal the map where disagreement.png is grey, differ where red.
    const counts = { agree: 0, disagree: 0 };
    const px = (image: { rgba: Uint8Array }, i: number) => [...image.rgba.subarray(i * 4, i * 4 + 4)].join();
    for (let i = 0; i < labels.width * labels.height; i++) {
      const d = px(disagreement, i);
      if (d === "200,200,200,255") {
        counts.agree++;
        expect(px(labels, i)).toBe(px(map, i));
      } else if (d === "220,30,30,255") {
        counts.disagree++;
        expect(px(labels, i)).not.toBe(px(map, i));
        expect(labels.rgba[i * 4 + 3]).toBe(255);
      }
    }
    expect(counts.agree).toBeGreaterThan(counts.disagree);
  });

  it("answers the pixel under a point from map.tif and confidence.tif", async () => {
    const map = await readRaster(await openCog(s3Source(s3, runFile("map.tif"))));
    const confidence = await readRaster(await openCog(s3Source(s3, runFile("confidence.tif"))));
    const i = map.data.findIndex((v) => v !== 0);
    const [col, row] = [i % map.width, Math.floor(i / map.width)];
    const x = map.geo.origin[0] + (col + 0.5) * map.geo.pixelSize;
    const y = map.geo.origin[1] - (row + 0.5) * map.geo.pixelSize;
    const answer = await (await fetch(`${serve.url}api/runs/${runId}/pixel?x=${x}&y=${y}`)).json();
    expect(answer).toMatchObject({ col, row, classId: map.data[i], confidence: confidence.data[i] });
    expect((await fetch(`${serve.url}api/runs/${runId}/pixel?x=0&y=0`)).status).toBe(404);
    expect((await fetch(`${serve.url}api/runs/${runId}/pixel?x=a`)).status).toBe(400);
  });

  it("lists the runs from S3 when Temporal does not answer, and stops on SIGTERM leaving the port free", async () => {
    const port = await freePort();
    const down = await startServe(config, port, { CROP_MAP_TEMPORAL_ADDRESS: "127.0.0.1:9" });
    try {
      const runs = (await (await fetch(`${down.url}api/runs`)).json()) as { runId: string }[];
      expect(runs.find((r) => r.runId === runId)).toMatchObject({
        workflowStatus: "unknown",
        tilesFrom: "tiles.json",
        progress: { done: 1, failed: 0, total: 1 },
      });
      expect(await (await fetch(down.url)).text()).toContain("does not answer");
    } finally {
      expect(await down.stop("SIGTERM"), down.output()).toBe(0);
    }
    const refused = await fetch(down.url).then(
      () => "answered",
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(refused).toBe("ECONNREFUSED");
  });

  it("exits 3 naming the S3 server when it does not answer", async () => {
    const closed = await freePort();
    const result = await cli(["serve", "--port", String(await freePort())], {
      ...configEnv(config),
      CROP_MAP_S3_ENDPOINT: `http://127.0.0.1:${closed}`,
    });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`the S3 server at http://127.0.0.1:${closed} does not answer`);
  });

  it("refuses a port in use with exit code 2 and one line naming the port", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await cli(["serve", "--port", String(port)], configEnv(config));
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe.skipIf(!chromium)("the viewer in Chromium", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // Root in a container has no sandbox; WebGL runs on SwiftShader where there is no GPU.
      args: ["--no-sandbox", "--enable-unsafe-swiftshader", "--disable-background-networking"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 760 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Resolves after the map's next complete render (OpenLayers' rendercomplete). */
  async function rendered(previous: number): Promise<number> {
    await page.waitForFunction(
      (n) => Number(document.body.dataset.rendered ?? 0) > n,
      { timeout: 60_000 },
      previous,
    );
    return page.evaluate(() => Number(document.body.dataset.rendered));
  }

  it("lists the run with its region, progress, workflow state, accuracy and report", async () => {
    await page.goto(serve.url);
    const row = await page.$eval(`tr[data-run="${runId}"]`, (tr) => tr.textContent);
    const accuracy = (await getJson(s3, runFile("accuracy.json"))) as { aAcc: number; coverage: number };
    expect(row).toContain("Rhode Island (RI)");
    expect(row).toContain("1 done, 0 failed of 1");
    expect(row).toContain("completed");
    expect(row).toContain(`${(accuracy.aAcc * 100).toFixed(1)} %`);
    expect(row).toContain(`${(accuracy.coverage * 100).toFixed(1)} %`);
    expect(await page.$eval("#temporal", (p) => p.textContent)).toContain("Live state from Temporal");

    await Promise.all([
      page.waitForNavigation(),
      page.click(`tr[data-run="${runId}"] a[href$="report.html"]`),
    ]);
    expect(await page.$eval("h1", (h) => h.textContent)).toBe("Crop map: Rhode Island (RI), 2022");
    if (updateScreenshots) {
      await mkdir(docs, { recursive: true });
      await page.screenshot({ path: join(docs, "report.png") });
    }
  });

  it("draws map.tif in class colours on the run's map page", async () => {
    await page.goto(`${serve.url}runs/${runId}`);
    await rendered(0);
    const map = await page.$("#map");
    const shot = await map?.screenshot({ encoding: "base64" });
    const palette = CropClasses.map((c) => c.color as readonly number[]);
    // Decoded by the browser itself: the share of the map's pixels drawn in a class colour.
    const share = await page.evaluate(
      async (png, colours) => {
        const image = new Image();
        image.src = `data:image/png;base64,${png}`;
        await image.decode();
        const canvas = new OffscreenCanvas(image.width, image.height);
        const context = canvas.getContext("2d") as OffscreenCanvasRenderingContext2D;
        context.drawImage(image, 0, 0);
        const rgba = context.getImageData(0, 0, image.width, image.height).data;
        let inClass = 0;
        for (let i = 0; i < rgba.length; i += 4) {
          const hit = colours.some(
            (c) =>
              Math.abs((rgba[i] as number) - (c[0] as number)) <= 3 &&
              Math.abs((rgba[i + 1] as number) - (c[1] as number)) <= 3 &&
              Math.abs((rgba[i + 2] as number) - (c[2] as number)) <= 3,
          );
          if (hit) inClass++;
        }
        return inClass / (rgba.length / 4);
      },
      shot as string,
      palette,
    );
    expect(share).toBeGreaterThan(0.05);
    if (updateScreenshots) await page.screenshot({ path: join(docs, "viewer.png") });
  });

  it("shows the class and confidence of the clicked pixel, as map.tif and confidence.tif hold them", async () => {
    const map = await readRaster(await openCog(s3Source(s3, runFile("map.tif"))));
    const confidence = await readRaster(await openCog(s3Source(s3, runFile("confidence.tif"))));
    // Pixels at the corners of class areas: one whose neighbours below and right hold another
    // class, one whose neighbours above and left do, so a lookup off by a row or a column in either
    // direction names the wrong class. At 5 m per screen pixel a click lands well inside its 30 m pixel.
    const at = (col: number, row: number) => map.data[row * map.width + col] as number;
    const corner = (dx: number, dy: number) => {
      for (let row = 1; row < map.height - 1; row++)
        for (let col = 1; col < map.width - 1; col++) {
          const v = at(col, row);
          if (v !== 0 && at(col + dx, row) !== v && at(col, row + dy) !== v) return row * map.width + col;
        }
      throw new Error(`map.tif has no class corner facing ${dx},${dy}`);
    };
    let count = await page.evaluate(() => Number(document.body.dataset.rendered ?? 0));
    for (const i of [corner(1, 1), corner(-1, -1)]) {
      const classId = map.data[i] as number;
      const x = map.geo.origin[0] + ((i % map.width) + 0.5) * map.geo.pixelSize;
      const y = map.geo.origin[1] - (Math.floor(i / map.width) + 0.5) * map.geo.pixelSize;
      await page.evaluate(
        (cx, cy) => {
          const view = (
            window as unknown as {
              viewer: { getView(): { setCenter(c: number[]): void; setResolution(r: number): void } };
            }
          ).viewer.getView();
          view.setCenter([cx, cy]);
          view.setResolution(5);
        },
        x,
        y,
      );
      count = await rendered(count);
      const box = await (await page.$("#map"))?.boundingBox();
      if (!box) throw new Error("no #map element");
      await page.evaluate(() => delete (document.getElementById("pixel") as HTMLElement).dataset.classId);
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForFunction(() => document.getElementById("pixel")?.dataset.classId !== undefined);
      const text = await page.$eval("#pixel", (p) => p.textContent);
      const name = CropClasses.find((c) => c.id === classId)?.name;
      expect(text).toContain(`${name} (class ${classId}), confidence ${confidence.data[i]} %`);
    }
  });

  it("says so when the run does not exist (404 naming it)", async () => {
    const response = await page.goto(`${serve.url}runs/no-such-run-42`);
    expect(response?.status()).toBe(404);
    expect(await page.$eval("#not-found", (p) => p.textContent)).toContain("no-such-run-42");
  });
});

describe("stopping", () => {
  it("stops on SIGINT with exit code 0", async () => {
    expect(await serve.stop("SIGINT"), serve.output()).toBe(0);
  });
});
