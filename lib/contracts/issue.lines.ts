import type { z } from "zod";

/** Keys whose values are never shown: credentials of any kind, wherever they sit in an input. */
const SecretKey = /secret|password|passwd|token|credential|private|api.?key|auth|signature|cookie/i;

/** Longest value shown: a refusal is one line, not a dump of what was sent. */
const MaxShown = 80;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (Array.isArray(node) && typeof key === "number") node = node[key];
    else if (isRecord(node) && Object.hasOwn(node, key)) node = node[key as string];
    else return undefined;
  }
  return node;
}

/**
 * Text as a refusal may show it: a URL of any scheme (s3: too) without its user info, query and
 * fragment, where passwords and presigned signatures live.
 */
export function withoutQuery(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1").replace(/[?#].*$/, "");
}

/**
 * A value as a refusal may show it: scalars as JSON (strings cut short, URLs without their query),
 * objects and arrays by their kind only, anything under a secret-sounding key not at all.
 */
export function shownValue(path: readonly PropertyKey[], value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (path.some((key) => typeof key === "string" && SecretKey.test(key))) return "(hidden)";
  if (Array.isArray(value)) return `(a list of ${value.length})`;
  if (isRecord(value)) return "(an object)";
  if (typeof value === "string") {
    const text = withoutQuery(value);
    return JSON.stringify(text.length > MaxShown ? `${text.slice(0, MaxShown)}…` : text);
  }
  return typeof value === "bigint" ? String(value) : JSON.stringify(value);
}

/** One line per problem: `temporal.address="x": expected host:port`; never a secret or a whole object. */
export function describeIssues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.map(String).join(".") || "(root)";
      // An unknown key is named by the message; the object that holds it is not shown.
      const value = issue.code === "unrecognized_keys" ? undefined : valueAt(raw, issue.path);
      const shown = shownValue(issue.path, value);
      return `${field}${shown === undefined ? "" : `=${shown}`}: ${issue.message}`;
    })
    .join("; ");
}
