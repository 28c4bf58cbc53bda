import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { json, type StandIn, startStandIn } from "./http.standin.ts";

/** A set of temporary credentials as the stand-in issued it. */
export interface Issued {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms, whole seconds as the endpoint writes them. */
  expiresAt: number;
}

export interface EarthdataStandIn extends StandIn {
  credentialsUrl: string;
  issued: Issued[];
  /** Every request's path and Authorization scheme ("Bearer", "Basic" or "none"). */
  requests: { path: string; auth: string }[];
  /** Answer the next requests with these statuses instead of credentials. */
  failNext: number[];
  find(accessKeyId: string): Issued | undefined;
}

const hex = (n: number) => randomBytes(n).toString("hex");

/** `2019-02-27 23:26:56+00:00`, the expiration format of Earthdata's s3credentials endpoint. */
function earthdataTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}+00:00`;
}

function scheme(request: IncomingMessage): string {
  return request.headers.authorization?.split(" ")[0] ?? "none";
}

/**
 * A DAAC's `/s3credentials` endpoint: short-lived credentials for the bearer token, or for an
 * Earthdata Login session cookie. Without either it redirects to `login` (the URS stand-in's
 * authorize URL) as the real endpoint does, and `/login?code=` turns a URS code into the cookie.
 */
export async function startCredentialsStandIn(options: {
  token: string;
  lifetimeMs: number;
  login?: { authorizeUrl: () => string; codes: Set<string> };
}): Promise<EarthdataStandIn> {
  const issued: Issued[] = [];
  const requests: EarthdataStandIn["requests"] = [];
  const failNext: number[] = [];
  const sessions = new Set<string>();
  const server = await startStandIn((request, response, url) => {
    requests.push({ path: url.pathname, auth: scheme(request) });
    if (url.pathname === "/login" && options.login) {
      const code = url.searchParams.get("code") ?? "";
      if (!options.login.codes.delete(code)) return json(response, 401, { error: "bad code" });
      const session = hex(16);
      sessions.add(session);
      response.writeHead(302, {
        "set-cookie": `accessToken=${session}; Path=/; HttpOnly`,
        location: url.searchParams.get("state") ?? "/s3credentials",
      });
      return response.end();
    }
    if (url.pathname !== "/s3credentials") return json(response, 404, { error: "not found" });
    const status = failNext.shift();
    if (status !== undefined) return json(response, status, { error: "failing on purpose" });
    const cookie = /accessToken=(\w+)/.exec(request.headers.cookie ?? "")?.[1];
    const bearer = request.headers.authorization === `Bearer ${options.token}`;
    if (!bearer && !(cookie && sessions.has(cookie))) {
      if (options.login && !request.headers.authorization) {
        const authorize = new URL(options.login.authorizeUrl());
        authorize.searchParams.set("redirect_uri", `${server.url}login`);
        authorize.searchParams.set("state", "/s3credentials");
        response.writeHead(302, { location: authorize.toString() });
        return response.end();
      }
      return json(response, 401, { error: "Unauthorized" });
    }
    const expiresAt = Math.floor((Date.now() + options.lifetimeMs) / 1000) * 1000;
    const set = {
      accessKeyId: `ASIA${hex(8).toUpperCase()}`,
      secretAccessKey: hex(20),
      sessionToken: hex(48),
      expiresAt,
    };
    issued.push(set);
    json(response, 200, {
      accessKeyId: set.accessKeyId,
      secretAccessKey: set.secretAccessKey,
      sessionToken: set.sessionToken,
      expiration: earthdataTime(expiresAt),
    });
  });
  return {
    ...server,
    credentialsUrl: `${server.url}s3credentials`,
    issued,
    requests,
    failNext,
    find: (accessKeyId) => issued.find((i) => i.accessKeyId === accessKeyId),
  };
}

/** The URS stand-in's host: the netrc machine and `archive.loginHost` in tests. */
export const UrsHost = "localhost";

export interface UrsStandIn extends StandIn {
  codes: Set<string>;
  requests: { path: string; auth: string }[];
  authorizeUrl(): string;
}

/**
 * Earthdata Login's OAuth authorize step: Basic credentials in, a one-time code out, redirected
 * to the caller's redirect_uri. Served on localhost: another host than the DAAC's (127.0.0.1) to a
 * client, and a loopback name a login may travel to over plain HTTP.
 */
export async function startUrsStandIn(user: string, password: string): Promise<UrsStandIn> {
  const codes = new Set<string>();
  const requests: UrsStandIn["requests"] = [];
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const server = await startStandIn((request, response, url) => {
    requests.push({ path: url.pathname, auth: scheme(request) });
    if (url.pathname !== "/oauth/authorize") return json(response, 404, { error: "not found" });
    if (request.headers.authorization !== expected) {
      response.writeHead(401, {
        "www-authenticate": 'Basic realm="Please enter your Earthdata Login credentials"',
      });
      return response.end();
    }
    const code = hex(8);
    codes.add(code);
    const back = new URL(url.searchParams.get("redirect_uri") ?? "");
    back.searchParams.set("code", code);
    back.searchParams.set("state", url.searchParams.get("state") ?? "");
    response.writeHead(302, { location: back.toString() });
    response.end();
  }, UrsHost);
  return {
    ...server,
    codes,
    requests,
    authorizeUrl: () => `${server.url}oauth/authorize?client_id=stand-in&response_type=code`,
  };
}
