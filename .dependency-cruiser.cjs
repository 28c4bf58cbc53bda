// The import rules `npm run lint` enforces (dependency-cruiser). Layers, bottom to top:
//   lib/core (pure helpers with no imports) and lib/contracts (schemas and types every layer shares)
//   lib/** (the product library)  ->  activities/  ->  workers/ (the composition root)
//   workflows/ (deterministic: contracts and activity types only)
//   scripts/cli.ts + scripts/commands/ (the product CLI)
// Tools (demo world, benchmarks, model builders, dev stack, tests) may import the product; the
// product never imports them. scripts/cli.ts is the CLI's composition root: it alone registers the
// tool commands (dev, synth) beside the product's.
const Product = "^(lib|activities|workflows|workers)/|^scripts/(commands/|cli\\.(errors|client)\\.ts)";
const Tools = "^(scripts/(synth|bench|fuzz|docs)|models/build|infra/(dev|images)|test)/";
const PureCore = ["^lib/contracts/", "^lib/core/", "^node_modules/(zod|@temporalio/workflow)/"];
// Files with no imports that workflow code may use besides contracts (error names, failure chains).
const WorkflowSafe = ["^lib/errors/archive\\.errors\\.ts$", "^lib/temporal/failure\\.chain\\.ts$"];

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Imports run one way: no module reaches itself again.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycles",
      comment: "The library's folders form layers too: no folder reaches itself through another.",
      severity: "error",
      scope: "folder",
      from: { path: "^lib/" },
      to: { circular: true },
    },
    {
      name: "product-never-imports-tools",
      comment: "The demo world, benchmarks, model builders, dev stack and tests stay outside the product.",
      severity: "error",
      from: { path: Product },
      to: { path: Tools },
    },
    {
      name: "lib-never-imports-up",
      comment: "lib/ is the bottom: it knows no activity, workflow, worker, CLI or infra code.",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(activities|workflows|workers|scripts|infra)/" },
    },
    {
      name: "activities-never-import-up",
      comment: "Activities are given their clients; workers compose them, workflows call them by type.",
      severity: "error",
      from: { path: "^activities/" },
      to: { path: "^(workflows|workers|scripts|infra)/" },
    },
    {
      name: "workflows-import-contracts-and-activity-types",
      comment: "Workflow code is deterministic: contracts, other workflows and activity types only.",
      severity: "error",
      from: { path: "^workflows/" },
      to: {
        pathNot: ["^workflows/", ...PureCore, ...WorkflowSafe],
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "contracts-are-pure",
      comment: "Contracts import zod, @temporalio/workflow (signals, queries) and lib/core only, types too.",
      severity: "error",
      from: { path: "^lib/(contracts|core)/" },
      to: { pathNot: PureCore },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|bench|docs)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
