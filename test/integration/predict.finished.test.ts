import { MockActivityEnvironment } from "@temporalio/testing";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { finishedPrediction } from "../../activities/predict.checkpoint.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { putJson, ref } from "../../lib/storage/s3.objects.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("finished");
const s3 = createS3Client(config);
const Summary = z.object({ model: z.object({ name: z.string(), sha256: z.string() }), seconds: z.number() });
const summaryRef = ref(config.storage.outputs, "run/tiles/19TCG/predict.json");
const wanted = { name: "crop-tiny", sha256: "a".repeat(64) };
const find = (model: typeof wanted) =>
  new MockActivityEnvironment().run(finishedPrediction, s3, summaryRef, Summary, "19TCG", model);

afterAll(() => s3.destroy());

describe("a tile's finished prediction, for either model family", () => {
  it("is none before the summary is written", async () => {
    expect(await find(wanted)).toBeUndefined();
  });

  it("is the summary when the same model file made it, and none when the file under that name changed", async () => {
    await putJson(s3, summaryRef, { model: wanted, seconds: 12 });
    expect(await find(wanted)).toEqual({ model: wanted, seconds: 12 });
    expect(await find({ ...wanted, sha256: "b".repeat(64) })).toBeUndefined();
  });

  it("refuses a summary that is not one, naming the field", async () => {
    await putJson(s3, summaryRef, { model: { name: "crop-tiny" }, seconds: 12 });
    await expect(find(wanted)).rejects.toThrow(/sha256/);
  });
});
