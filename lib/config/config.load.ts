import { readFileSync } from "node:fs";
import { describeIssues } from "../contracts/issue.lines.ts";
import { type Config, type ConfigInput, ConfigParser, DefaultConfig } from "./config.schema.ts";
import { ConfigEnvVars } from "./env.vars.ts";

/** Bad configuration: the message names the source, the field and the value. */
export class ConfigError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace those in `base`, null unsets. */
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
  }
  return out;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1] as string] = value;
}

function envOverrides(env: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  for (const [name, spec] of Object.entries(ConfigEnvVars)) {
    const raw = env[name];
    if (raw === undefined) continue;
    let value: unknown = raw;
    if (spec.kind === "boolean") {
      if (!/^(true|false|1|0)$/i.test(raw)) throw new ConfigError(`${name}='${raw}': expected true or false`);
      value = /^(true|1)$/i.test(raw);
    } else if (spec.kind === "number") {
      if (!/^-?\d+(\.\d+)?$/.test(raw)) throw new ConfigError(`${name}='${raw}': expected a number`);
      value = Number(raw);
    } else if (raw === "" && name === "CROP_MAP_S3_ENDPOINT") {
      value = undefined;
    }
    setPath(out, spec.path, value);
  }
  return out;
}

/** Keys that reach an object's prototype when merged: JSON.parse keeps them as own keys, and `.strict()` never sees them. */
const PrototypeKeys = new Set(["__proto__", "constructor", "prototype"]);

/** The path of the first prototype key anywhere in parsed JSON, or undefined. */
function prototypeKeyPath(value: unknown, path: string[] = []): string | undefined {
  if (Array.isArray(value))
    return value.reduce<string | undefined>(
      (found, v, i) => found ?? prototypeKeyPath(v, [...path, String(i)]),
      undefined,
    );
  if (!isObject(value)) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (PrototypeKeys.has(key)) return `'${[...path, key].join(".")}'`;
    const found = prototypeKeyPath(child, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function readConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `config file '${path}' cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the mistake, which may be a secret: only where it is is told.
    const at = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(
      `config file '${path}' is not valid JSON${at === undefined ? "" : ` (at character ${at})`}`,
    );
  }
  if (!isObject(parsed)) throw new ConfigError(`config file '${path}' must hold a JSON object`);
  const unsafe = prototypeKeyPath(parsed);
  if (unsafe) throw new ConfigError(`config file '${path}': key ${unsafe} is not allowed`);
  return parsed;
}

export interface LoadConfigOptions {
  /** A JSON config file; defaults to $CROP_MAP_CONFIG. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Fields that win over everything else (tests pointing at their own servers). */
  overrides?: Partial<Record<keyof ConfigInput, unknown>>;
}

/** Embedded default, then the config file, then environment variables, then explicit overrides. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.CROP_MAP_CONFIG;
  let raw: Json = DefaultConfig as unknown as Json;
  if (file) raw = merge(raw, readConfigFile(file));
  raw = merge(raw, envOverrides(env));
  if (options.overrides) raw = merge(raw, options.overrides as Json);
  const result = ConfigParser.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      `invalid configuration${file ? ` (file '${file}')` : ""}: ${describeIssues(result.error, raw)}`,
    );
  }
  return result.data;
}
