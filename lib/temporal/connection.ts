import { readFileSync } from "node:fs";
import { Client, Connection, type ConnectionOptions } from "@temporalio/client";
import type { Config } from "../config/config.schema.ts";

type Tls = ConnectionOptions["tls"];

function tlsOptions(config: Config["temporal"]): Tls {
  const { tls } = config;
  if (!tls.enabled) return undefined;
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const cert = read(tls.certFile);
  const key = read(tls.keyFile);
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: read(tls.caFile) } : {}),
    ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
  };
}

/**
 * Temporal Cloud's API key, from the environment only (a secret: never in the config file). With a
 * key, TLS is on even where the config leaves it off, as Temporal Cloud requires.
 */
export function apiKeyOptions(config: Config["temporal"], env: NodeJS.ProcessEnv = process.env) {
  const apiKey = env.CROP_MAP_TEMPORAL_API_KEY;
  if (!apiKey) return { tls: tlsOptions(config) };
  return { apiKey, tls: tlsOptions(config) ?? {} };
}

/**
 * A client for starting, querying and scheduling workflows. Close its connection when done.
 * `connectTimeout` is for callers that go on without Temporal (the viewer) and must not wait long.
 */
export async function connectClient(
  config: Pick<Config, "temporal">,
  { connectTimeout }: Pick<ConnectionOptions, "connectTimeout"> = {},
): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    ...apiKeyOptions(config.temporal),
    ...(connectTimeout ? { connectTimeout } : {}),
  });
  return new Client({ connection, namespace: config.temporal.namespace });
}
