import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../lib/config/config.load.ts";
import { describeIssues } from "../../lib/contracts/issue.lines.ts";
import { keyUnder, parseS3Url } from "../../lib/core/s3.url.ts";

async function configFile(content: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), "config-")), "crop-map.json");
  await writeFile(file, content);
  return file;
}

describe("config", () => {
  it("defaults to the local stack", () => {
    const config = loadConfig({ env: {} });
    expect(config.temporal.address).toBe("127.0.0.1:7233");
    expect(config.s3.endpoint).toBe("http://127.0.0.1:8333");
    expect(config.storage.hls).toEqual({ bucket: "crop-map-hls", prefix: "" });
  });

  it("layers the file, then the environment", async () => {
    const file = await configFile(
      JSON.stringify({
        temporal: { namespace: "from-file", uiUrl: "https://temporal.example/ui" },
        s3: { endpoint: null },
        storage: { hls: "s3://lp-prod-protected" },
      }),
    );
    const config = loadConfig({
      env: {
        CROP_MAP_CONFIG: file,
        CROP_MAP_TEMPORAL_NAMESPACE: "from-env",
        CROP_MAP_S3_FORCE_PATH_STYLE: "false",
        CROP_MAP_OUTPUTS_URL: "s3://maps/iowa/2022",
      },
    });
    expect(config.temporal.namespace).toBe("from-env");
    expect(config.temporal.uiUrl).toBe("https://temporal.example/ui");
    expect(config.storage.hls).toEqual({ bucket: "lp-prod-protected", prefix: "" });
    expect(config.storage.outputs).toEqual({ bucket: "maps", prefix: "iowa/2022/" });
    expect(config.s3.endpoint).toBeUndefined();
    expect(config.s3.forcePathStyle).toBe(false);
    expect(loadConfig({ env: { CROP_MAP_S3_ENDPOINT: "" } }).s3.endpoint).toBeUndefined();
  });

  it("names the field and the value that are wrong", async () => {
    expect(() => loadConfig({ env: { CROP_MAP_TEMPORAL_ADDRESS: "localhost" } })).toThrow(
      'temporal.address="localhost": expected host:port',
    );
    expect(() => loadConfig({ env: { CROP_MAP_MOSAIC_DEFLATE_LEVEL: "0" } })).toThrow(
      "mosaic.deflateLevel=0",
    );
    expect(loadConfig({ env: { CROP_MAP_MOSAIC_DEFLATE_LEVEL: "6" } }).mosaic.deflateLevel).toBe(6);
    expect(() => loadConfig({ env: { CROP_MAP_TEMPORAL_TLS: "yes" } })).toThrow(
      "CROP_MAP_TEMPORAL_TLS='yes'",
    );
    expect(() => loadConfig({ env: { CROP_MAP_WORK_URL: "s3://work/../other" } })).toThrow(
      "storage.work=\"s3://work/../other\": the prefix of 's3://work/../other' contains a '.' or '..' segment",
    );
    const unknownKey = await configFile(JSON.stringify({ s3: { bucket: "x" } }));
    expect(() => loadConfig({ env: { CROP_MAP_CONFIG: unknownKey } })).toThrow(/s3.*bucket|Unrecognized key/);
    const notJson = await configFile("{");
    expect(() => loadConfig({ env: { CROP_MAP_CONFIG: notJson } })).toThrow("is not valid JSON");
  });
});

describe("config refusals", () => {
  const refusal = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("not refused");
  };

  it("never shows a secret or a whole object", async () => {
    const secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    const nested = await configFile(
      JSON.stringify({ s3: { region: "us-east-1", secretAccessKey: secret, sessionToken: secret } }),
    );
    const line = refusal(() => loadConfig({ env: { CROP_MAP_CONFIG: nested } }));
    expect(line).toContain("s3: Unrecognized keys");
    expect(line).toContain("secretAccessKey");
    expect(line).not.toContain(secret);
    expect(line).not.toContain("us-east-1");

    const topLevel = await configFile(JSON.stringify({ password: secret }));
    const top = refusal(() => loadConfig({ env: { CROP_MAP_CONFIG: topLevel } }));
    expect(top).toContain('(root): Unrecognized key: "password"');
    expect(top).not.toContain(secret);
    // The merged configuration is not printed either.
    expect(top).not.toContain("crop-map-hls");

    // A value under a secret-sounding key is hidden; a URL loses its query (a presigned signature).
    const Input = z.object({
      login: z.object({ password: z.string().min(40) }),
      source: z.url().endsWith(".tif"),
    });
    const raw = {
      login: { password: "hunter2" },
      source: "https://bucket.example/cdl.zip?X-Amz-Signature=abcdef",
    };
    expect(describeIssues(Input.safeParse(raw).error as z.ZodError, raw)).toBe(
      'login.password=(hidden): Too small: expected string to have >=40 characters; source="https://bucket.example/cdl.zip": Invalid string: must end with ".tif"',
    );

    const broken = await configFile(`{"s3": x"secretAccessKey": "${secret}"}`);
    const notJson = refusal(() => loadConfig({ env: { CROP_MAP_CONFIG: broken } }));
    expect(notJson).toContain("is not valid JSON");
    expect(notJson).not.toContain("secretAc");
  });

  it("refuses prototype keys, which JSON.parse keeps and .strict() never sees", async () => {
    for (const [text, key] of [
      ['{"__proto__": {"inference": {"batchSize": 999}}}', "'__proto__'"],
      ['{"workers": {"constructor": {"prototype": {"x": 1}}}}', "'workers.constructor'"],
      ['{"s3": {"prototype": 1}}', "'s3.prototype'"],
    ] as const) {
      const file = await configFile(text);
      expect(() => loadConfig({ env: { CROP_MAP_CONFIG: file } })).toThrow(
        `config file '${file}': key ${key} is not allowed`,
      );
    }
  });

  it("bounds every number by what a deployment could need", async () => {
    for (const [settings, field] of [
      [{ workers: { cpuConcurrency: 1e9 } }, "workers.cpuConcurrency=1000000000"],
      [{ workers: { inferenceConcurrency: 65 } }, "workers.inferenceConcurrency=65"],
      [{ inference: { memoryBudgetMb: 1e12 } }, "inference.memoryBudgetMb=1000000000000"],
      [{ inference: { checkpointEveryRows: 1e6 } }, "inference.checkpointEveryRows=1000000"],
      [{ temporal: { address: "127.0.0.1:99999" } }, 'temporal.address="127.0.0.1:99999"'],
    ] as const) {
      const file = await configFile(JSON.stringify(settings));
      expect(() => loadConfig({ env: { CROP_MAP_CONFIG: file } })).toThrow(field);
    }
    const fine = await configFile(
      JSON.stringify({ workers: { cpuConcurrency: 64 }, inference: { memoryBudgetMb: 65536 } }),
    );
    expect(loadConfig({ env: { CROP_MAP_CONFIG: fine } }).workers.cpuConcurrency).toBe(64);
  });
});

describe("archive config", () => {
  it("defaults to today's S3 access and LP DAAC's endpoints", () => {
    const { archive } = loadConfig({ env: {} });
    expect(archive).toEqual({
      access: "s3",
      credentialsUrl: "https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials",
      httpsUrl: "https://data.lpdaac.earthdatacloud.nasa.gov/",
      cmrUrl: "https://cmr.earthdata.nasa.gov/search/",
      loginHost: "urs.earthdata.nasa.gov",
    });
  });

  it("takes the file and the environment, and refuses what cannot work", async () => {
    const file = await configFile(
      JSON.stringify({
        archive: { access: "earthdata-s3", s3: { region: "us-west-2", forcePathStyle: false } },
      }),
    );
    const config = loadConfig({
      env: {
        CROP_MAP_CONFIG: file,
        CROP_MAP_ARCHIVE_LISTING: "cmr",
        CROP_MAP_ARCHIVE_HTTPS_URL: "http://127.0.0.1:9000/files",
      },
    });
    expect(config.archive).toMatchObject({
      access: "earthdata-s3",
      listing: "cmr",
      s3: { region: "us-west-2", forcePathStyle: false },
      httpsUrl: "http://127.0.0.1:9000/files/",
    });
    expect(() => loadConfig({ env: { CROP_MAP_ARCHIVE_ACCESS: "ftp" } })).toThrow('archive.access="ftp"');
    expect(() =>
      loadConfig({
        env: { CROP_MAP_ARCHIVE_ACCESS: "earthdata-https", CROP_MAP_ARCHIVE_LISTING: "s3-list" },
      }),
    ).toThrow('archive.listing="s3-list": HTTPS access cannot list folders');
    const token = await configFile(JSON.stringify({ archive: { token: "secret" } }));
    expect(() => loadConfig({ env: { CROP_MAP_CONFIG: token } })).toThrow(/archive.*token|Unrecognized key/);
  });
});

describe("S3 locations", () => {
  it("parses URLs and keeps keys inside their prefix", () => {
    expect(parseS3Url("s3://bucket")).toEqual({ bucket: "bucket", prefix: "" });
    expect(parseS3Url("s3://bucket/a/b")).toEqual({ bucket: "bucket", prefix: "a/b/" });
    expect(keyUnder({ bucket: "b", prefix: "runs/" }, "r1/tile.tif")).toBe("runs/r1/tile.tif");
    expect(() => keyUnder({ bucket: "b", prefix: "runs/" }, "../escape")).toThrow("'..' segment");
    expect(() => keyUnder({ bucket: "b", prefix: "runs/" }, "/abs")).toThrow("starts with '/'");
    expect(() => parseS3Url("https://bucket/x")).toThrow("is not an s3:// URL");
    expect(() => parseS3Url("s3://Bad_Bucket/x")).toThrow("not a valid bucket name");
  });
});
