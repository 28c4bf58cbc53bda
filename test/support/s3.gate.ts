import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Issued } from "./earthdata.standin.ts";
import { type StandIn, startStandIn } from "./http.standin.ts";

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Data): Buffer =>
  typeof data === "string"
    ? Buffer.from(data, "utf8")
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 and its HMAC from node:crypto, in the shape SignatureV4 takes. */
class Sha256 {
  private hash;
  constructor(private readonly secret?: Data) {
    this.hash = secret ? createHmac("sha256", bytes(secret)) : createHash("sha256");
  }
  update(data: Data): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret ? createHmac("sha256", bytes(this.secret)) : createHash("sha256");
  }
}

const AuthPattern =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** `20240101T120000Z` to a Date. */
function amzDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return new Date(Number.NaN);
  const [year, month, day, h, min, sec] = m.slice(1).map(Number) as number[];
  return new Date(Date.UTC(year as number, (month as number) - 1, day, h, min, sec));
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const had = query[k];
    query[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return query;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

export interface S3Gate extends StandIn {
  /** Requests let through, by the access key id that signed them. */
  accepted: Map<string, number>;
  /** Requests refused, by S3 error code (ExpiredToken, InvalidAccessKeyId, SignatureDoesNotMatch, ...). */
  refused: Map<string, number>;
}

/**
 * An S3 endpoint that only Earthdata-style temporary credentials open: each request must be
 * SigV4-signed by a pair `lookup` knows, with its session token, before the pair's expiry
 * (ExpiredToken otherwise, as S3 answers). Accepted requests are re-signed with the upstream
 * server's own credentials and forwarded, so the archive behind is the test stack's S3.
 */
export async function startS3Gate(
  upstream: string,
  upstreamCredentials: { accessKeyId: string; secretAccessKey: string },
  lookup: (accessKeyId: string) => Issued | undefined,
): Promise<S3Gate> {
  const accepted = new Map<string, number>();
  const refused = new Map<string, number>();
  const target = new URL(upstream);
  const upstreamSigner = new SignatureV4({
    credentials: upstreamCredentials,
    region: "us-west-2",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });

  const server = await startStandIn(async (request, response, url) => {
    const refuse = (status: number, code: string) => {
      refused.set(code, (refused.get(code) ?? 0) + 1);
      response.writeHead(status, { "content-type": "application/xml" });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} (S3 gate stand-in)</Message><RequestId>gate</RequestId></Error>`,
      );
    };
    const auth = AuthPattern.exec(header(request, "authorization") ?? "");
    if (!auth) return refuse(403, "AccessDenied");
    const [, accessKeyId, region, signedHeaders, signature] = auth as unknown as string[];
    const issued = lookup(accessKeyId as string);
    if (!issued) return refuse(403, "InvalidAccessKeyId");
    if (header(request, "x-amz-security-token") !== issued.sessionToken) return refuse(403, "InvalidToken");
    if (Date.now() >= issued.expiresAt) return refuse(400, "ExpiredToken");

    // The signature, recomputed with the issued secret over the headers the client signed.
    const signed: Record<string, string> = {};
    for (const name of (signedHeaders as string).split(";")) signed[name] = header(request, name) ?? "";
    const expected = await new SignatureV4({
      credentials: issued,
      region: region as string,
      service: "s3",
      sha256: Sha256,
      uriEscapePath: false,
    }).sign(
      {
        method: request.method ?? "GET",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: queryOf(url),
        headers: signed,
      },
      { signingDate: amzDate(signed["x-amz-date"] ?? "") },
    );
    const recomputed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1] ?? "";
    if (
      recomputed.length !== 64 ||
      !timingSafeEqual(Buffer.from(recomputed), Buffer.from(signature as string))
    )
      return refuse(403, "SignatureDoesNotMatch");
    accepted.set(accessKeyId as string, (accepted.get(accessKeyId as string) ?? 0) + 1);

    const forwarded = await upstreamSigner.sign({
      method: request.method ?? "GET",
      protocol: "http:",
      hostname: target.hostname,
      port: Number(target.port),
      path: url.pathname,
      query: queryOf(url),
      headers: {
        host: target.host,
        "x-amz-content-sha256": header(request, "x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD",
        ...(request.headers.range ? { range: header(request, "range") as string } : {}),
      },
    });
    await new Promise<void>((resolve, reject) => {
      const out = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: `${url.pathname}${url.search}`,
          headers: forwarded.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          answer.on("end", resolve);
          answer.on("error", reject);
        },
      );
      out.on("error", reject);
      request.pipe(out);
    });
  });
  return { ...server, accepted, refused };
}
