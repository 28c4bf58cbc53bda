import { connect, createServer } from "node:net";

/** A TCP port on loopback that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port assigned"));
      });
    });
  });
}

/** Several distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Polls until the port accepts connections, or fails naming what did not come up; at once when
 * the process that should listen has exited (`alive` says no).
 */
export async function waitForPort(
  port: number,
  what: string,
  timeoutMs = 120_000,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isListening(port)) return;
    if (!alive()) throw new Error(`${what} exited before it listened on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

/** Whether a server could bind 127.0.0.1:port now (as the stack's servers bind, address reuse on). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port the stack needs is still held (a previous stack's server still closing, or another program). */
export class PortBusyError extends Error {}

/**
 * Waits until every named port can be bound: a stack stopped a moment ago may still be closing its
 * sockets, and a server that starts meanwhile fails to bind (Temporal says only "could not build
 * arguments for function ServerLifetimeHooks"). Fails naming the first port still held.
 */
export async function waitForPortsFree(ports: Record<string, number>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let held: [string, number] | undefined;
    for (const [name, port] of Object.entries(ports)) {
      if (!(await canBind(port))) {
        held = [name, port];
        break;
      }
    }
    if (!held) return;
    if (Date.now() >= deadline)
      throw new PortBusyError(
        `port ${held[1]} (${held[0]}) on 127.0.0.1 is still in use after ${timeoutMs / 1000} s: ` +
          `stop what holds it (\`crop-map dev down\` if it is another stack; \`ss -ltnp 'sport = :${held[1]}'\` names it)`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
