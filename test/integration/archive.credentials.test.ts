import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { WorkflowFailedError } from "@temporalio/client";
import { MockActivityEnvironment } from "@temporalio/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createStageActivities } from "../../activities/stage.activities.ts";
import type { Config } from "../../lib/config/config.schema.ts";
import { DefaultSelectionLimits } from "../../lib/contracts/granule.contract.ts";
import { parseGranuleId } from "../../lib/contracts/granule.id.ts";
import { DefaultSeasonWindows } from "../../lib/contracts/season.windows.ts";
import { EarthdataLoginError } from "../../lib/earthdata/earthdata.login.ts";
import {
  ArchiveAccessError,
  ArchiveRequestError,
  isTransientArchiveError,
} from "../../lib/errors/archive.errors.ts";
import { createHlsArchive } from "../../lib/hls/archive.factory.ts";
import { createS3Archive } from "../../lib/hls/hls.archive.ts";
import { stacItemKey } from "../../lib/hls/lpdaac.keys.ts";
import { loadModelManifest } from "../../lib/model/model.manifest.ts";
import { LocalS3Credentials } from "../../lib/storage/local.credentials.ts";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { connectClient } from "../../lib/temporal/connection.ts";
import { connectWorker } from "../../lib/temporal/worker.connection.ts";
import { createCpuWorker } from "../../workers/worker.factory.ts";
import {
  type EarthdataStandIn,
  startCredentialsStandIn,
  startUrsStandIn,
  UrsHost,
} from "../support/earthdata.standin.ts";
import { type S3Gate, startS3Gate } from "../support/s3.gate.ts";
import { testBundle } from "../support/test.bundle.ts";
import { testConfig } from "../support/test.config.ts";
import {
  labelGridOf,
  type StagedThrough,
  selectAndStage,
  WorldYear,
  writeOneTileWorld,
} from "../support/tile.archive.ts";

const config = testConfig("archive-creds");
const s3 = createS3Client(config);
const TileId = "19TCG";
/** Short-lived credentials, so that one test outlives several (the real ones last an hour). */
const LifetimeMs = 15_000;
const token = `edl-${randomBytes(16).toString("hex")}`;

const issuers: EarthdataStandIn[] = [];
const closers: (() => Promise<void>)[] = [];
let endpoint: EarthdataStandIn;
let gate: S3Gate;
let grid: Awaited<ReturnType<typeof labelGridOf>>;
let reference: StagedThrough;
/** Everything the code under test logged, to check that no secret is in it. */
const logged: string[] = [];

/** Config for direct S3 access through the gate with credentials from `credentialsUrl`. */
function earthdataConfig(credentialsUrl: string, archive: Partial<Config["archive"]> = {}): Config {
  return {
    ...config,
    archive: {
      ...config.archive,
      access: "earthdata-s3",
      credentialsUrl,
      s3: { endpoint: gate.url.slice(0, -1), region: config.s3.region, forcePathStyle: true },
      ...archive,
    },
  };
}

function someSidecar(): string {
  return stacItemKey(parseGranuleId(reference.selection.granules[0]?.id as string));
}

function secretsIn(text: string): string[] {
  const secrets = [
    token,
    ...issuers.flatMap((i) => i.issued.flatMap((c) => [c.secretAccessKey, c.sessionToken])),
  ];
  return secrets.filter((s) => text.includes(s));
}

beforeAll(async () => {
  for (const method of ["log", "warn"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
  await writeOneTileWorld(s3, config, TileId);
  grid = await labelGridOf(s3, config);
  reference = await selectAndStage(
    s3,
    config,
    createS3Archive(s3, config.storage.hls),
    TileId,
    grid,
    "reference",
  );
  endpoint = await startCredentialsStandIn({ token, lifetimeMs: LifetimeMs });
  issuers.push(endpoint);
  gate = await startS3Gate(config.s3.endpoint as string, LocalS3Credentials, (id) =>
    issuers.map((i) => i.find(id)).find((found) => found !== undefined),
  );
  closers.push(endpoint.close, gate.close);
});

afterAll(async () => {
  for (const close of closers) await close();
  vi.restoreAllMocks();
  s3.destroy();
});

describe("Earthdata direct S3 access", () => {
  it("stages a tile again and again for longer than two credential lifetimes, refreshing before expiry", async () => {
    const archive = createHlsArchive(earthdataConfig(endpoint.credentialsUrl), { EARTHDATA_TOKEN: token });
    const started = Date.now();
    let rounds = 0;
    while (Date.now() - started < 2.2 * LifetimeMs) {
      const run = await selectAndStage(s3, config, archive, TileId, grid, `round-${rounds++}`);
      expect(run.selection.granules).toEqual(reference.selection.granules);
      expect(run.stack.equals(reference.stack), `round ${rounds}`).toBe(true);
    }
    expect(reference.staged.validPixels).toBeGreaterThan(0);
    // Issued again and again, each set used for requests, and never a request with an expired
    // (or otherwise refused) set: the client replaced each before the gate would turn it away.
    expect(endpoint.issued.length).toBeGreaterThanOrEqual(3);
    expect(gate.accepted.size).toBeGreaterThanOrEqual(3);
    expect([...gate.accepted.keys()].every((id) => endpoint.find(id))).toBe(true);
    expect(Object.fromEntries(gate.refused)).toEqual({});
    expect(endpoint.requests.every((r) => r.auth === "Bearer")).toBe(true);

    // The gate is no pushover: the first set, now expired, and a wrong secret are refused.
    const [first, last] = [endpoint.issued[0], endpoint.issued.at(-1)];
    expect(Date.now()).toBeGreaterThan(first?.expiresAt as number);
    const list = new ListObjectsV2Command({ Bucket: config.storage.hls.bucket, MaxKeys: 1 });
    const gateS3 = earthdataConfig("http://unused/").archive.s3 as Config["s3"];
    const expired = createS3Client({ s3: gateS3 }, {}, first);
    await expect(expired.send(list)).rejects.toMatchObject({ name: "ExpiredToken" });
    const forged = createS3Client(
      { s3: gateS3 },
      {},
      { ...(last as typeof first & object), secretAccessKey: "x" },
    );
    await expect(forged.send(list)).rejects.toMatchObject({ name: "SignatureDoesNotMatch" });
  });

  it("retries an endpoint that fails for a while and goes on", async () => {
    const before = endpoint.requests.length;
    endpoint.failNext.push(503, 502);
    const archive = createHlsArchive(earthdataConfig(endpoint.credentialsUrl), { EARTHDATA_TOKEN: token });
    expect(await archive.getText(someSidecar())).toContain("eo:cloud_cover");
    expect(endpoint.requests.length - before).toBe(3);
  });

  it("retries an unreachable endpoint, then fails as transient, naming the endpoint and not the token", async () => {
    let connections = 0;
    const dead: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => dead.close(() => resolve())));
    const url = `http://127.0.0.1:${(dead.address() as { port: number }).port}/s3credentials`;
    const archive = createHlsArchive(earthdataConfig(url), { EARTHDATA_TOKEN: token });

    const error = (await archive.getText(someSidecar()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ArchiveRequestError);
    expect(isTransientArchiveError(error)).toBe(true);
    expect(error.message).toContain(`Earthdata S3 credentials endpoint: ${url} unreachable`);
    expect(error.message).toContain("gave up after 4 attempts");
    expect(connections).toBeGreaterThanOrEqual(4);
    expect(secretsIn(`${error.message} ${error.stack}`)).toEqual([]);
  });

  it("fails at once on a refused token (401), naming the endpoint and status, never the token", async () => {
    const wrong = `edl-${randomBytes(16).toString("hex")}`;
    const before = endpoint.requests.length;
    const archive = createHlsArchive(earthdataConfig(endpoint.credentialsUrl), { EARTHDATA_TOKEN: wrong });

    const error = (await archive.getText(someSidecar()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ArchiveAccessError);
    expect(error.message).toContain(
      `Earthdata S3 credentials endpoint ${endpoint.credentialsUrl} answered HTTP 401`,
    );
    expect(endpoint.requests.length - before).toBe(1);
    expect(`${error.message} ${error.stack}`).not.toContain(wrong);

    // Staging says so too, rather than calling the band an unreadable COG.
    const stage = createStageActivities(s3, config, archive);
    const staging = new MockActivityEnvironment().run(stage.stageTile, {
      tileId: TileId,
      year: WorldYear,
      granules: reference.selection.granules.map((g) => g.id),
      labelGrid: { epsg: grid.epsg, origin: grid.origin, pixelSize: grid.pixelSize },
      chip: (await loadModelManifest("crop-tiny")).chip,
    });
    await expect(staging).rejects.toBeInstanceOf(ArchiveAccessError);
  });

  it("fails a tile workflow once, not retried, with no token anywhere in its history", async () => {
    const wrong = `edl-${randomBytes(16).toString("hex")}`;
    const tileConfig = earthdataConfig(endpoint.credentialsUrl);
    const archive = createHlsArchive(tileConfig, { EARTHDATA_TOKEN: wrong });
    const connection = await connectWorker(config);
    const client = await connectClient(config);
    try {
      const worker = await createCpuWorker({
        connection,
        config,
        s3,
        archive,
        bundle: testBundle(),
      });
      const workflowId = `tile-${TileId}-refused`;
      const failure = await worker.runUntil(
        client.workflow
          .execute("tileWorkflow", {
            taskQueue: config.taskQueues.cpu,
            workflowId,
            args: [
              {
                tileId: TileId,
                year: WorldYear,
                model: "crop-tiny",
                windows: DefaultSeasonWindows,
                ...DefaultSelectionLimits,
                chip: (await loadModelManifest("crop-tiny")).chip,
                outputPrefix: "refused/",
                inferenceQueue: config.taskQueues.inference,
              },
            ],
          })
          .catch((e: unknown) => e),
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(String((failure as WorkflowFailedError).cause?.cause)).toContain("answered HTTP 401");
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      expect(history.events?.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(1);
      expect(JSON.stringify(history)).not.toContain(wrong);
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });

  it("refuses to start without a token or netrc login, saying where it looked", () => {
    expect(() =>
      createHlsArchive(earthdataConfig(endpoint.credentialsUrl), { NETRC: "/nonexistent/netrc" }),
    ).toThrow(EarthdataLoginError);
    expect(() =>
      createHlsArchive(earthdataConfig(endpoint.credentialsUrl), { NETRC: "/nonexistent/netrc" }),
    ).toThrow(/EARTHDATA_TOKEN.*urs\.earthdata\.nasa\.gov.*\/nonexistent\/netrc \(not readable\)/);
  });

  it("logs in with a netrc password through Earthdata Login, sending it to the login host only", async () => {
    const password = `pw-${randomBytes(8).toString("hex")}`;
    const urs = await startUrsStandIn("crop-user", password);
    const daac = await startCredentialsStandIn({
      token: "unused",
      lifetimeMs: 4_000,
      login: { authorizeUrl: urs.authorizeUrl, codes: urs.codes },
    });
    issuers.push(daac);
    closers.push(urs.close, daac.close);
    const netrc = join(await mkdtemp(join(tmpdir(), "netrc-")), "netrc");
    await writeFile(
      netrc,
      `machine other.example login x password y\nmachine ${UrsHost}\n  login crop-user\n  password ${password}\n`,
      { mode: 0o600 },
    );
    const archive = createHlsArchive(earthdataConfig(daac.credentialsUrl, { loginHost: UrsHost }), {
      NETRC: netrc,
    });

    expect(await archive.getText(someSidecar())).toContain("eo:cloud_cover");
    expect(urs.requests).toEqual([{ path: "/oauth/authorize", auth: "Basic" }]);
    expect(daac.requests.map((r) => r.path)).toEqual(["/s3credentials", "/login", "/s3credentials"]);
    expect(daac.requests.every((r) => r.auth === "none")).toBe(true);

    // The next set comes with the session cookie alone: no second login.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(await archive.getText(someSidecar())).toContain("eo:cloud_cover");
    expect(daac.issued).toHaveLength(2);
    expect(urs.requests).toHaveLength(1);

    // A wrong password: refused, naming the endpoint and the login host, not the password.
    await writeFile(netrc, `machine ${UrsHost} login crop-user password wrong-${password}\n`);
    const refused = createHlsArchive(earthdataConfig(daac.credentialsUrl, { loginHost: UrsHost }), {
      NETRC: netrc,
    });
    const error = (await refused.getText(someSidecar()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ArchiveAccessError);
    expect(error.message).toContain(
      `${daac.credentialsUrl} answered HTTP 401 (from ${urs.url}oauth/authorize)`,
    );
    expect(error.message).not.toContain(password);
  });

  it("never logged a secret", () => {
    expect(logged.some((line) => line.startsWith("Archive:Credentials:Issued"))).toBe(true);
    expect(secretsIn(logged.join("\n"))).toEqual([]);
  });
});
