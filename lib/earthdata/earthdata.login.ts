import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { netrcLogin } from "./netrc.file.ts";

/** How requests to Earthdata are authorised: a bearer token, or a username and password for Earthdata Login. */
export type EarthdataLogin =
  | { kind: "token"; token: string }
  | { kind: "netrc"; login: string; password: string; file: string };

/** No usable login: the message says where one was looked for, and never shows a secret. */
export class EarthdataLoginError extends Error {
  override name = "EarthdataLoginError";
}

/**
 * The login from the environment: EARTHDATA_TOKEN first (the simplest and the one LP DAAC
 * recommends for scripts), then the netrc file ($NETRC or ~/.netrc) entry for the login host.
 */
export function resolveEarthdataLogin(env: NodeJS.ProcessEnv, loginHost: string): EarthdataLogin {
  const token = env.EARTHDATA_TOKEN?.trim();
  if (token) return { kind: "token", token };
  const file = env.NETRC || join(env.HOME || homedir(), ".netrc");
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = undefined;
  }
  const entry = text === undefined ? undefined : netrcLogin(text, loginHost);
  if (entry) {
    // A password others can read is no longer the owner's: refused, as Python's netrc module does.
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== "win32" && mode & 0o077)
      throw new EarthdataLoginError(
        `${file} holds a password and is open to others (mode ${mode.toString(8).padStart(4, "0")}): chmod 600 ${file}`,
      );
    return { kind: "netrc", ...entry, file };
  }
  throw new EarthdataLoginError(
    `Earthdata access needs a login: set EARTHDATA_TOKEN, or put 'machine ${loginHost} login <user> password <password>' in ${file}${text === undefined ? " (not readable)" : " (no such entry)"}`,
  );
}
