import { request } from "node:http";
import { connect } from "node:net";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Client } from "../../lib/storage/s3.client.ts";
import { startViewer } from "../../lib/viewer/viewer.server.ts";
import { testConfig } from "../support/test.config.ts";

const config = testConfig("viewer-hostile");
const s3 = createS3Client(config);
let viewer: Awaited<ReturnType<typeof startViewer>>;
let port: number;

beforeAll(async () => {
  viewer = await startViewer(config, { host: "127.0.0.1", port: 0 });
  port = Number(new URL(viewer.url).port);
  // A run file that would be a page of the viewer's origin if it were served as S3 labels it.
  await s3.send(
    new PutObjectCommand({
      Bucket: config.storage.outputs.bucket,
      Key: `${config.storage.outputs.prefix}runs/r1/report.html`,
      Body: "<script>fetch('/api/runs')</script>",
      ContentType: "text/html",
    }),
  );
});
afterAll(async () => {
  await viewer?.close();
  s3.destroy();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET of `path` exactly as written, with the Host header given (a browser after DNS rebinding sends its own). */
function get(path: string, host = `127.0.0.1:${port}`): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject).end();
  });
}

describe("the viewer's HTTP server against hostile requests", () => {
  it("answers only for its own host and port: a rebound name gets 421", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
      expect((await get("/api/runs", host)).status, host).toBe(200);
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      "127.0.0.1",
    ]) {
      const answer = await get("/api/runs", host);
      expect(answer.status, host).toBe(421);
      expect(answer.body).not.toContain("[");
    }
  });

  it("matches routes on own properties only", async () => {
    for (const name of ["constructor", "tostring", "hasownproperty"]) {
      const answer = await get(`/assets/${name}`);
      expect(answer.status, name).toBe(404);
      expect(answer.body).toContain("nothing at");
    }
    expect((await get("/assets/viewer.js")).status).toBe(200);
  });

  it("answers a malformed %-escape with 400 and a short message", async () => {
    for (const path of ["/runs/%E0%A4%A/", "/api/runs/%ZZ", "/runs/r1/files/%C0"]) {
      const answer = await get(path);
      expect(answer.status, path).toBe(400);
      expect(JSON.parse(answer.body), path).toEqual({ error: "malformed %-escape in the path" });
    }
  });

  it("sends nosniff and a restrictive CSP with every answer; run files are sandboxed", async () => {
    const answers = await Promise.all(
      ["/", "/api/runs", "/assets/viewer.js", "/nowhere", "/runs/%ZZ", "/runs/r1/files/report.html"].map(
        (p) => get(p),
      ),
    );
    answers.push(await get("/", "evil.example"));
    for (const answer of answers) {
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["content-security-policy"]).toMatch(/default-src 'none'/);
      expect(answer.headers["content-security-policy"]).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    }
    const file = answers[5] as Answer;
    expect(file.status).toBe(200);
    expect(file.headers["content-type"]).toBe("text/html");
    expect(file.headers["content-security-policy"]).toMatch(/^sandbox; default-src 'none'/);
  });

  it("drops a client that never finishes its request headers", { timeout: 40_000 }, async () => {
    // Node's defaults held such a client for a minute or more; the viewer gives it 10 s.
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (d) => {
      answer += d;
    });
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
    await new Promise((resolve) => socket.once("close", resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});
