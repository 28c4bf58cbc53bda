import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../lib/config/config.load.ts";
import { refreshMarginMs } from "../../lib/earthdata/earthdata.credentials.ts";
import { resolveEarthdataLogin } from "../../lib/earthdata/earthdata.login.ts";
import { createEarthdataSession } from "../../lib/earthdata/earthdata.session.ts";
import { netrcLogin } from "../../lib/earthdata/netrc.file.ts";
import { carriesSecrets } from "../../lib/earthdata/secure.url.ts";
import { startStandIn } from "../support/http.standin.ts";

describe("netrc", () => {
  const text = [
    "# Earthdata and others",
    "machine example.org login a password b",
    "macdef init",
    "machine urs.earthdata.nasa.gov login trap password trap",
    "",
    "machine URS.earthdata.nasa.gov",
    '  login crop-user password "p w#1"',
    "default login anon password guest",
  ].join("\n");

  it("finds the machine's login, case-insensitively, past comments and macro bodies", () => {
    expect(netrcLogin(text, "urs.earthdata.nasa.gov")).toEqual({ login: "crop-user", password: "p w#1" });
    expect(netrcLogin(text, "example.org")).toEqual({ login: "a", password: "b" });
  });

  it("falls back on the default entry, and finds nothing without one", () => {
    expect(netrcLogin(text, "elsewhere.example")).toEqual({ login: "anon", password: "guest" });
    expect(netrcLogin("machine a login x password y", "b")).toBeUndefined();
    expect(netrcLogin("machine a login x", "a")).toBeUndefined();
  });

  it("prefers EARTHDATA_TOKEN over a netrc file", () => {
    expect(resolveEarthdataLogin({ EARTHDATA_TOKEN: " t0k " }, "urs.earthdata.nasa.gov")).toEqual({
      kind: "token",
      token: "t0k",
    });
  });
});

describe("credential refresh margin", () => {
  it("is five minutes of an hour's credentials and a quarter of short ones", () => {
    expect(refreshMarginMs(3_600_000)).toBe(300_000);
    expect(refreshMarginMs(15_000)).toBe(3_750);
  });
});

describe("where a login may travel", () => {
  it("over https, or plain http to an exact loopback address only", () => {
    for (const url of [
      "https://data.example/x",
      "http://127.0.0.1:9000/",
      "http://[::1]:80/",
      "http://localhost/",
    ])
      expect(carriesSecrets(new URL(url)), url).toBe(true);
    for (const url of [
      "http://127.example.com/",
      "http://127.0.0.1.example.com/",
      "http://data.example/",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "ftp://127.0.0.1/",
    ])
      expect(carriesSecrets(new URL(url)), url).toBe(false);
  });

  it("sends the bearer token to no plain-http host but loopback's exact addresses", async () => {
    const seen: string[] = [];
    const server = await startStandIn((request, response) => {
      seen.push(request.headers.authorization ?? "none");
      // Not found, so that the session hands the answer back rather than judging a login page.
      response.writeHead(404).end();
    }, "127.0.0.2");
    try {
      const session = createEarthdataSession({ kind: "token", token: "t0ken" }, "urs.earthdata.nasa.gov");
      await (await session.get(server.url)).text();
      expect(seen).toEqual(["none"]);
      const netrc = createEarthdataSession(
        { kind: "netrc", login: "u", password: "p", file: "-" },
        "127.0.0.2",
      );
      await (await netrc.get(server.url)).text();
      expect(seen).toEqual(["none", "none"]);
    } finally {
      await server.close();
    }
  });

  it("refuses configured Earthdata endpoints a login could leak from", () => {
    for (const [name, url] of [
      ["CROP_MAP_ARCHIVE_HTTPS_URL", "http://data.example/"],
      ["CROP_MAP_ARCHIVE_HTTPS_URL", "http://127.example.com/"],
      ["CROP_MAP_CMR_URL", "file:///etc/"],
      ["CROP_MAP_ARCHIVE_CREDENTIALS_URL", "javascript:alert(1)"],
    ] as const)
      expect(() => loadConfig({ env: { [name]: url } }), url).toThrow("expected an https:// URL");
    expect(loadConfig({ env: { CROP_MAP_CMR_URL: "http://localhost:8080/search" } }).archive.cmrUrl).toBe(
      "http://localhost:8080/search/",
    );
  });

  it("refuses a netrc file with a password that others can read, in one line", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "netrc-")), "netrc");
    await writeFile(file, "machine urs.earthdata.nasa.gov login crop-user password s3cret\n");
    await chmod(file, 0o644);
    let error: Error | undefined;
    try {
      resolveEarthdataLogin({ NETRC: file }, "urs.earthdata.nasa.gov");
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBe(
      `${file} holds a password and is open to others (mode 0644): chmod 600 ${file}`,
    );
    await chmod(file, 0o600);
    expect(resolveEarthdataLogin({ NETRC: file }, "urs.earthdata.nasa.gov")).toMatchObject({
      kind: "netrc",
      login: "crop-user",
    });
  });
});
