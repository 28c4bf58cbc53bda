import { shownUrl } from "../core/shown.url.ts";
import { ArchiveAccessError, ArchiveRequestError } from "../errors/archive.errors.ts";
import type { EarthdataLogin } from "./earthdata.login.ts";
import { carriesSecrets } from "./secure.url.ts";

/** Requests to Earthdata endpoints with the login applied where, and only where, it belongs. */
export interface EarthdataSession {
  /**
   * A GET following redirects by hand: a login travels only over HTTPS (or plain HTTP to an exact
   * loopback address), the bearer token to the requested origin only, the netrc password to the
   * login host only, cookies back to the host that set them. Network failures reject with ArchiveRequestError; the response is returned as is.
   */
  get(url: string, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
}

const MaxRedirects = 10;
const RedirectStatuses = new Set([301, 302, 303, 307, 308]);

/** Host-only cookies, as the DAAC and Earthdata Login set them (Domain and Path are not needed there). */
class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => {
        const [key = "", value = ""] = a.split("=").map((s) => s.trim());
        if (/^max-age$/i.test(key)) return Number(value) <= 0;
        return /^expires$/i.test(key) && Date.parse(value) <= Date.now();
      });
      const jar = this.byHost.get(url.host) ?? new Map<string, string>();
      if (expired) jar.delete(name);
      else jar.set(name, pair.slice(at + 1).trim());
      this.byHost.set(url.host, jar);
    }
  }

  header(url: URL): string | undefined {
    const jar = this.byHost.get(url.host);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

export function createEarthdataSession(login: EarthdataLogin, loginHost: string): EarthdataSession {
  const cookies = new CookieJar();
  const basic =
    login.kind === "netrc"
      ? `Basic ${Buffer.from(`${login.login}:${login.password}`).toString("base64")}`
      : undefined;

  function authorization(url: URL, origin: string): string | undefined {
    if (!carriesSecrets(url)) return undefined;
    if (login.kind === "token") return url.origin === origin ? `Bearer ${login.token}` : undefined;
    const sendsPassword = url.hostname === loginHost;
    return sendsPassword ? basic : undefined;
  }

  return {
    async get(url, headers = {}, signal) {
      const origin = new URL(url).origin;
      let current = new URL(url);
      for (let hop = 0; hop <= MaxRedirects; hop++) {
        const request = new Headers(headers);
        const auth = authorization(current, origin);
        if (auth) request.set("authorization", auth);
        const cookie = cookies.header(current);
        if (cookie) request.set("cookie", cookie);
        let response: Response;
        try {
          response = await fetch(current, { headers: request, redirect: "manual", signal });
        } catch (error) {
          if ((error as Error).name === "AbortError") throw error;
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          throw new ArchiveRequestError(
            `${shownUrl(current)} unreachable (${cause?.code ?? cause?.message ?? (error as Error).message})`,
          );
        }
        cookies.store(current, response);
        const location = response.headers.get("location");
        if (!RedirectStatuses.has(response.status) || !location) {
          // Earthdata Login answers a request it cannot authorise with its login page, not a 401.
          if (current.hostname === loginHost && response.ok) {
            await response.body?.cancel();
            throw new ArchiveAccessError(
              `${shownUrl(url)} sent the request to Earthdata Login (${shownUrl(current)}), which did not accept the ${login.kind === "token" ? "token" : "netrc login"}`,
            );
          }
          return response;
        }
        await response.body?.cancel();
        current = new URL(location, current);
      }
      throw new Error(`${shownUrl(url)}: more than ${MaxRedirects} redirects`);
    },
  };
}
