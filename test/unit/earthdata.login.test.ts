import { describe, expect, it } from "vitest";
import { refreshMarginMs } from "../../lib/earthdata/earthdata.credentials.ts";
import { resolveEarthdataLogin } from "../../lib/earthdata/earthdata.login.ts";
import { netrcLogin } from "../../lib/earthdata/netrc.file.ts";

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
