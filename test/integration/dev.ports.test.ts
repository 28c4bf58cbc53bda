import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts } from "../../infra/dev/ports.ts";
import { type StackState, stackHealth, startStack, stopStack } from "../../infra/dev/stack.ts";
import { loadConfig } from "../../lib/config/config.load.ts";

const config = loadConfig({ env: {} });
const dirs: string[] = [];
const stacks: StackState[] = [];

afterAll(async () => {
  for (const stack of stacks) await stopStack(stack);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A port held as a previous stack's closing server holds it. */
async function hold(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

async function stackDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dev-ports-"));
  dirs.push(dir);
  return dir;
}

describe("starting a stack while a previous one's ports are still closing", () => {
  it("waits for the held port, then starts", async () => {
    const [temporal, temporalUi, s3] = (await freePorts(3)) as [number, number, number];
    const blocker = await hold(temporalUi);
    const starting = startStack({
      dir: await stackDir(),
      config,
      ports: { temporal, temporalUi, s3 },
      detached: false,
      portWaitMs: 60_000,
    });
    // The old stack's server lets go while the new one waits.
    setTimeout(() => blocker.close(), 1_500);
    const state = await starting;
    stacks.push(state);
    expect(await stackHealth(state)).toEqual({ temporal: true, s3: true });
    expect(state.temporal.uiUrl).toBe(`http://127.0.0.1:${temporalUi}`);
  });

  it("fails naming the port and what it is for when it stays held", async () => {
    const [temporal, temporalUi, s3] = (await freePorts(3)) as [number, number, number];
    const blocker = await hold(s3);
    try {
      const error = await startStack({
        dir: await stackDir(),
        config,
        ports: { temporal, temporalUi, s3 },
        detached: false,
        portWaitMs: 1_000,
      }).catch((e: unknown) => e as Error);
      expect((error as Error).message).toMatch(
        new RegExp(`^port ${s3} \\(SeaweedFS s3\\) on 127\\.0\\.0\\.1 is still in use after 1 s`),
      );
    } finally {
      blocker.close();
    }
  });
});
