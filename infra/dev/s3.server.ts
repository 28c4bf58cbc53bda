import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalS3Credentials } from "../../lib/storage/local.credentials.ts";
import { waitForPort } from "./ports.ts";
import { isAlive, type ServerProcess, startServer, stopServer } from "./process.ts";
import { ensureTool } from "./tools.ts";

/** The ports `weed mini` opens; every one is set so that two stacks never collide. */
export const SeaweedPortNames = [
  "s3",
  "s3Grpc",
  "master",
  "masterGrpc",
  "volume",
  "volumeGrpc",
  "filer",
  "filerGrpc",
  "admin",
  "adminGrpc",
] as const;
export type SeaweedPorts = Record<(typeof SeaweedPortNames)[number], number>;

export interface S3ServerOptions {
  dir: string;
  ports: SeaweedPorts;
  detached: boolean;
}

export interface S3Server extends ServerProcess {
  endpoint: string;
}

/** Starts SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process); buckets are made by the caller. */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const binary = await ensureTool("seaweedfs");
  const identities = join(options.dir, "s3-identities.json");
  await writeFile(
    identities,
    JSON.stringify({
      identities: [
        {
          name: "crop-map",
          credentials: [
            { accessKey: LocalS3Credentials.accessKeyId, secretKey: LocalS3Credentials.secretAccessKey },
          ],
          actions: ["Admin", "Read", "Write", "List", "Tagging"],
        },
      ],
    }),
  );
  const { ports } = options;
  const args = [
    "mini",
    `-dir=${join(options.dir, "seaweedfs")}`,
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${ports.s3Grpc}`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-master.port=${ports.master}`,
    `-master.port.grpc=${ports.masterGrpc}`,
    `-volume.port=${ports.volume}`,
    `-volume.port.grpc=${ports.volumeGrpc}`,
    `-filer.port=${ports.filer}`,
    `-filer.port.grpc=${ports.filerGrpc}`,
    `-admin.port=${ports.admin}`,
    `-admin.port.grpc=${ports.adminGrpc}`,
    "-webdav=false",
    `-s3.config=${identities}`,
  ];
  await mkdir(join(options.dir, "seaweedfs"), { recursive: true });
  const process = startServer(binary, args, join(options.dir, "seaweedfs.log"), options.detached);
  await waitForPort(ports.s3, `SeaweedFS S3 gateway (log: ${process.logFile})`, 120_000, () =>
    isAlive(process.pid),
  ).catch(async (error: Error) => {
    await stopServer(process.pid);
    throw error;
  });
  return { ...process, endpoint: `http://127.0.0.1:${ports.s3}` };
}
