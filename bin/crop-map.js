#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so a clone works without a build step.
import { register } from "tsx/esm/api";

// The AWS SDK warns on every start about Node versions it will drop next year; one line per
// command is noise a person cannot act on here. Other warnings still print.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (!warning.message.startsWith("NodeVersionSupportWarning"))
    console.warn(`${warning.name}: ${warning.message}`);
});

register();
await import("../scripts/cli.ts");
