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
import { freePort } from "../../infra/dev/ports.ts";
import { CropClasses } from "../../lib/cdl/classes.ts";
import { ringBounds } from "../../lib/grid/planar.ts";
import { openCog, readRaster } from "../../lib/raster/cog.reader.ts";
import { stateExtent } from "../../lib/region/state.extent.ts";
import { findState, type UsState } from "../../lib/region/us.states.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { getBytes, getJson, putBytes, ref } from "../../lib/storage/s3.objects.ts";
import { s3Source } from "../../lib/storage/s3.source.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import type { ViewerConfig } from "../../lib/viewer/page/viewer.config.ts";
import { planWorld } from "../../scripts/synth/world.plan.ts";
import { createCpuWorker, createInferenceWorker } from "../../workers/worker.factory.ts";
import { configEnv } from "../support/child.worker.ts";
import { cli } from "../support/cli.run.ts";
import { decodeOwnPng } from "../support/png.decode.ts";
import { riRunInput } from "../support/ri.run.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import { writeTestWorld } from "../support/test.world.ts";
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

/** Rhode Island's six tiles, over UTM zones 18 and 19 (the demo's run, at small scale). */
const RiTiles = ["18TYL", "18TYM", "19TBF", "19TBG", "19TCF", "19TCG"];

/** One small run of Rhode Island, with both pools in this process. */
async function mapRun(): Promise<void> {
  const input = riRunInput(runId, config, { tiles: RiTiles });
  const bundle = testBundle();
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
  await writeTestWorld(
    planWorld({ state: "RI", year: 2022, scale: "small", seed: 4, season: { start: "04-01", end: "10-31" } }),
    { s3, config },
  );
  connection = await connectWorker(config);
  client = await connectClient(config);
  await mapRun();
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

  it("puts each class's mapped area beside the CDL's over the same pixels, in the viewer's legend and the report", async () => {
    const accuracy = (await getJson(s3, runFile("accuracy.json"))) as {
      mappedPixels: number;
      confusion: number[][];
    };
    // Counted from map.tif itself: in this world every mapped pixel has a CDL label.
    const map = await readRaster(await openCog(s3Source(s3, runFile("map.tif"))));
    const mapped = new Map<number, number>();
    for (const v of map.data as Uint8Array) if (v !== 0) mapped.set(v, (mapped.get(v) ?? 0) + 1);
    expect([...mapped.values()].reduce((a, b) => a + b, 0)).toBe(accuracy.mappedPixels);
    const cdl = (id: number) => (accuracy.confusion[id - 1] ?? []).reduce((a, b) => a + b, 0);
    const haOf = (text: string) => Number(text.replaceAll(",", ""));
    const pages = {
      viewer: await (await fetch(`${serve.url}runs/${runId}`)).text(),
      report: await (await fetch(`${serve.url}runs/${runId}/files/report.html`)).text(),
    };
    for (const [name, html] of Object.entries(pages)) {
      const rows = [
        ...html.matchAll(
          /<tr data-class="(\d+)">.*?<td class="n mapped-ha">([\d,.]+)<\/td><td class="n cdl-ha">([\d,.]+)<\/td>/g,
        ),
      ].map((m) => ({ id: Number(m[1]), mappedHa: haOf(m[2] as string), cdlHa: haOf(m[3] as string) }));
      expect(
        rows.map((r) => r.id),
        name,
      ).toEqual(CropClasses.map((c) => c.id));
      // 30 m pixels: 0.09 ha each; shown to the hectare from 100 ha up, to 0.01 ha below.
      for (const r of rows) {
        expect(
          Math.abs(r.mappedHa - (mapped.get(r.id) ?? 0) * 0.09),
          `${name} class ${r.id}`,
        ).toBeLessThanOrEqual(0.5);
        expect(Math.abs(r.cdlHa - cdl(r.id) * 0.09), `${name} class ${r.id}`).toBeLessThanOrEqual(0.5);
      }
      const total =
        /<tr class="total"><td>All classes<\/td><td class="n mapped-ha">([\d,.]+)<\/td><td class="n cdl-ha">([\d,.]+)<\/td>/.exec(
          html,
        );
      expect(haOf(total?.[1] ?? ""), name).toBeCloseTo(accuracy.mappedPixels * 0.09, 0);
      expect(haOf(total?.[2] ?? ""), name).toBeCloseTo(accuracy.mappedPixels * 0.09, 0);
      expect(html).toContain(
        `Over the ${accuracy.mappedPixels.toLocaleString("en-US")} pixels that both the map and the CDL cover (30 m pixels, 0.09 ha each)`,
      );
    }
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
        progress: { done: 6, failed: 0, total: 6 },
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

  /** A screenshot of the map as RGBA, decoded by the browser itself, and a colour test on its pixels. */
  async function mapPixels() {
    const png = (await (await page.$("#map"))?.screenshot({ encoding: "base64" })) as string;
    const { width, height, rgba } = await page.evaluate(async (png) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = new OffscreenCanvas(image.width, image.height);
      const context = canvas.getContext("2d") as OffscreenCanvasRenderingContext2D;
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, image.width, image.height).data;
      let binary = "";
      for (let i = 0; i < data.length; i += 0x8000)
        binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width: image.width, height: image.height, rgba: btoa(binary) };
    }, png);
    const data = Buffer.from(rgba, "base64");
    /** Whether pixel (x, y) is within `tolerance` of colour `c` in each channel. */
    const is = (x: number, y: number, c: readonly number[], tolerance: number) => {
      const i = (y * width + x) * 4;
      return c.every((v, k) => Math.abs((data[i + k] as number) - v) <= tolerance);
    };
    return { width, height, is };
  }

  /** Where EPSG:5070 points are on the map, in its screenshot's pixels. */
  function onScreen(points: number[][]): Promise<[number, number][]> {
    return page.evaluate(
      (points) =>
        points.map((p) =>
          (
            window as unknown as { viewer: { getPixelFromCoordinate(c: number[]): [number, number] } }
          ).viewer.getPixelFromCoordinate(p),
        ),
      points,
    );
  }

  it("lists the run with its region, progress, workflow state, accuracy and report", async () => {
    await page.goto(serve.url);
    const row = await page.$eval(`tr[data-run="${runId}"]`, (tr) => tr.textContent);
    const accuracy = (await getJson(s3, runFile("accuracy.json"))) as { aAcc: number; coverage: number };
    expect(row).toContain("Rhode Island (RI)");
    expect(row).toContain("6 done, 0 failed of 6");
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
    const palette = CropClasses.map((c) => c.color as readonly number[]);
    const { width, height, is } = await mapPixels();
    let inClass = 0;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) if (palette.some((c) => is(x, y, c, 3))) inClass++;
    const share = inClass / (width * height);
    // Six 14 km windows of a small world spread over the state's box: most of the box is unmapped.
    expect(share).toBeGreaterThan(0.01);
  });

  it("draws the region's outline and each tile's outline on the map's edges, its label at the tile's centre", async () => {
    await page.goto(`${serve.url}runs/${runId}`);
    let count = await rendered(0);
    const drawn = JSON.parse(
      await page.$eval("#viewer-config", (e) => e.textContent ?? "{}"),
    ) as ViewerConfig;
    // Rhode Island's outline as the tile cover and the label cut have it, in EPSG:5070.
    const ri = stateExtent(findState("RI") as UsState).bounds;
    const outline = ringBounds((drawn.region?.rings ?? []).flat());
    for (const [i, v] of ri.entries()) expect(Math.abs((outline[i] as number) - v)).toBeLessThanOrEqual(1);
    // Every tile labelled once, and tiles on different ground apart: 18TYM and 19TBG (zones 18 and 19
    // over the same ground) share a label.
    const labelled = drawn.labels.flatMap((l) => l.lines.map((line) => line.split(" ")[0]));
    expect(labelled.sort()).toEqual(RiTiles);
    expect(drawn.labels.find((l) => l.lines.some((line) => line.startsWith("18TYM")))?.lines).toContain(
      "19TBG done",
    );

    // The map layer off: what is left on screen is the outlines and the labels.
    await page.click("#layer-map");
    count = await rendered(count);
    const { width, height, is } = await mapPixels();
    if (!drawn.map) throw new Error("the run's page has no map");
    const [minX, minY, maxX, maxY] = drawn.map.extent;
    const [[x0, y1], [x1, y0]] = (await onScreen([
      [minX, minY],
      [maxX, maxY],
    ])) as [[number, number], [number, number]];
    const labelsAt = await onScreen(drawn.labels.map((l) => l.at));
    const colours = { tile: [26, 127, 55], region: [130, 80, 223], text: [36, 41, 47] };
    const near = 4;
    const edges = { left: 0, right: 0, top: 0, bottom: 0 };
    let outside = 0;
    let region = 0;
    const text: [number, number][] = [];
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        if (is(x, y, colours.region, 40)) region++;
        if (is(x, y, colours.text, 40)) text.push([x, y]);
        if (!is(x, y, colours.tile, 40)) continue;
        if (Math.max(x0 - x, x - x1, y0 - y, y - y1) > near) outside++;
        if (y >= y0 && y <= y1) {
          if (Math.abs(x - x0) <= near) edges.left++;
          if (Math.abs(x - x1) <= near) edges.right++;
        }
        if (x >= x0 && x <= x1) {
          if (Math.abs(y - y0) <= near) edges.top++;
          if (Math.abs(y - y1) <= near) edges.bottom++;
        }
      }
    const found = {
      edges,
      outside,
      region,
      labels: labelsAt.map(([lx, ly]) => ({
        at: [lx, ly] as [number, number],
        text: text.filter(([x, y]) => Math.abs(x - lx) <= 40 && Math.abs(y - ly) <= 20).length,
      })),
    };
    // The box is on screen, and the outlines run along each of its edges and nowhere past them.
    expect(x1 - x0).toBeGreaterThan(200);
    expect(y1 - y0).toBeGreaterThan(200);
    for (const [edge, pixels] of Object.entries(found.edges))
      expect(pixels, edge).toBeGreaterThan((y1 - y0) / 4);
    expect(found.outside).toBe(0);
    expect(found.region).toBeGreaterThan(200);
    // Each label drawn where it belongs, inside the map's box, and none over another.
    for (const l of found.labels) {
      expect(l.text).toBeGreaterThan(20);
      expect(l.at[0]).toBeGreaterThan(x0);
      expect(l.at[0]).toBeLessThan(x1);
      expect(l.at[1]).toBeGreaterThan(y0);
      expect(l.at[1]).toBeLessThan(y1);
    }
    for (const [i, a] of found.labels.entries())
      for (const b of found.labels.slice(i + 1))
        expect(Math.hypot(a.at[0] - b.at[0], a.at[1] - b.at[1])).toBeGreaterThan(30);

    await page.click("#layer-map");
    await rendered(count);
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
