import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigParser, DefaultConfig } from "../../lib/config/config.schema.ts";
import { ConfigEnvVars, OtherEnvVars } from "../../lib/config/env.vars.ts";

// The operator guide's configuration reference is written by hand (its words are for people) and
// checked here against the zod schema, so a field added to the schema without a row fails.

const Guide = join(import.meta.dirname, "..", "..", "docs", "operator-guide.md");

/** One documented field: the cells of its row, as the guide writes them. */
interface Row {
  env: string;
  default: string;
}

/** A leaf of the schema: its dotted path and the default zod fills in, if any. */
interface Leaf {
  path: string;
  zodDefault?: unknown;
}

/** Every leaf field of an object schema, through optional, default and nested objects (zod v4). */
function schemaLeaves(schema: z.ZodType, prefix = ""): Leaf[] {
  let inner = schema;
  let zodDefault: unknown;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) inner = inner.unwrap() as z.ZodType;
    else if (inner instanceof z.ZodDefault) {
      zodDefault = inner.def.defaultValue;
      inner = inner.unwrap() as z.ZodType;
    } else break;
  }
  if (!(inner instanceof z.ZodObject))
    return [{ path: prefix, ...(zodDefault === undefined ? {} : { zodDefault }) }];
  return Object.entries(inner.shape).flatMap(([key, child]) =>
    schemaLeaves(child as z.ZodType, prefix ? `${prefix}.${key}` : key),
  );
}

/** The table rows between `<!-- name:start -->` and `<!-- name:end -->`, as cells (header dropped). */
function tableRows(markdown: string, name: string): string[][] {
  const start = markdown.indexOf(`<!-- ${name}:start -->`);
  const end = markdown.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`docs/operator-guide.md has no ${name} markers`);
  return markdown
    .slice(start, end)
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
}

/** `code` cell contents; anything else as written. */
function unquote(cell: string): string {
  return /^`[^`]+`$/.test(cell) ? cell.slice(1, -1) : cell;
}

function documentedFields(markdown: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const [field = "", env = "", def = ""] of tableRows(markdown, "config-reference"))
    rows.set(unquote(field), { env, default: def });
  return rows;
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split("."))
    node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** The cells a field's row must hold: its variable (or none) and its default (or unset). */
function expectedRow(leaf: Leaf): Row {
  const env = Object.entries(ConfigEnvVars).find(([, spec]) => spec.path.join(".") === leaf.path)?.[0];
  const value = valueAt(DefaultConfig, leaf.path) ?? leaf.zodDefault;
  return {
    env: env ? `\`${env}\`` : "(file only)",
    default: value === undefined ? "unset" : `\`${String(value)}\``,
  };
}

/** What is wrong with the reference against a schema: one line per problem, empty when it agrees. */
function referenceProblems(schema: z.ZodType, documented: Map<string, Row>): string[] {
  const leaves = schemaLeaves(schema);
  const problems: string[] = [];
  for (const leaf of leaves) {
    const want = expectedRow(leaf);
    const row = documented.get(leaf.path);
    if (!row) {
      problems.push(`missing: | \`${leaf.path}\` | ${want.env} | ${want.default} | <meaning> |`);
      continue;
    }
    if (row.env !== want.env) problems.push(`${leaf.path}: variable ${row.env}, the schema's is ${want.env}`);
    if (row.default !== want.default)
      problems.push(`${leaf.path}: default ${row.default}, the schema's is ${want.default}`);
  }
  const known = new Set(leaves.map((l) => l.path));
  for (const field of documented.keys())
    if (!known.has(field)) problems.push(`documented but not in the schema: ${field}`);
  return problems;
}

const guide = readFileSync(Guide, "utf8");

describe("the configuration reference in docs/operator-guide.md", () => {
  it("has one row per schema field, with the field's variable and default", () => {
    expect(referenceProblems(ConfigParser, documentedFields(guide))).toEqual([]);
  });

  it("fails for a field added to the schema without a row, and for a row the schema lacks", () => {
    // A reference complete for today's schema, so this checks the check itself, not the guide.
    const documented = new Map(schemaLeaves(ConfigParser).map((leaf) => [leaf.path, expectedRow(leaf)]));
    expect(referenceProblems(ConfigParser, documented)).toEqual([]);
    const grown = ConfigParser.extend({
      mosaic: ConfigParser.shape.mosaic.extend({ blockSize: z.number().int().default(4096) }),
    });
    expect(referenceProblems(grown, documented)).toEqual([
      "missing: | `mosaic.blockSize` | (file only) | `4096` | <meaning> |",
    ]);
    documented.set("mosaic.retired", { env: "(file only)", default: "unset" });
    expect(referenceProblems(ConfigParser, documented)).toEqual([
      "documented but not in the schema: mosaic.retired",
    ]);
  });

  it("names every variable of env.vars.ts once, config fields in the reference, the rest below it", () => {
    const inReference = [...documentedFields(guide).values()]
      .map((row) => unquote(row.env))
      .filter((env) => env !== "(file only)");
    const others = tableRows(guide, "env-reference").map(([name = ""]) => unquote(name));
    expect([...inReference].sort()).toEqual(Object.keys(ConfigEnvVars).sort());
    expect([...others].sort()).toEqual(Object.keys(OtherEnvVars).sort());
  });
});
