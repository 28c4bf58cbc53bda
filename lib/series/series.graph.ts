import { ModelMismatchError } from "../model/model.session.ts";
import type { BatchResult, GraphInfo } from "../model/model.thread.ts";
import type { SeriesManifest } from "./series.manifest.ts";

function dims(graph: GraphInfo, name: string, inputs: boolean): readonly (number | string)[] {
  const meta = (inputs ? graph.inputMetadata : graph.outputMetadata).find((m) => m.name === name);
  return meta && "shape" in meta ? meta.shape : [];
}

/** The input and output shapes a series model's graph must have; the batch dimension is free. */
export function seriesShapes(m: SeriesManifest) {
  return {
    [m.inputs.series]: [m.maxDates, 6, m.patch, m.patch],
    [m.inputs.doy]: [m.maxDates],
    [m.inputs.mask]: [m.maxDates],
  };
}

/** Checks a series graph against its manifest; a named dimension matches any size. */
export function checkSeriesGraph(m: SeriesManifest, graph: GraphInfo): void {
  const where = `model ${m.name}`;
  const expect = (name: string, wanted: number[], inputs: boolean) => {
    const names = inputs ? graph.inputNames : graph.outputNames;
    if (!names.includes(name))
      throw new ModelMismatchError(
        `${where}: graph ${inputs ? "inputs" : "outputs"} are [${names.join(", ")}], manifest names '${name}'`,
      );
    const actual = dims(graph, name, inputs);
    const ok =
      actual.length === wanted.length + 1 &&
      wanted.every((w, i) => typeof actual[i + 1] !== "number" || actual[i + 1] === w);
    if (!ok)
      throw new ModelMismatchError(
        `${where}: '${name}' has shape [${actual.join(", ")}], manifest says [batch, ${wanted.join(", ")}]`,
      );
  };
  for (const [name, wanted] of Object.entries(seriesShapes(m))) expect(name, wanted, true);
  expect(m.output.name, [m.output.classes], false);
}

/** Logits must come back [batch, classes]: anything else is refused, not argmaxed. */
export function checkSeriesOutput(m: SeriesManifest, batch: number, result: BatchResult): void {
  if (result.dims.length !== 2 || result.dims[0] !== batch || result.dims[1] !== m.output.classes)
    throw new ModelMismatchError(
      `model ${m.name}: output '${m.output.name}' came back [${result.dims.join(", ")}] for a batch of ${batch}, manifest says [${batch}, ${m.output.classes}]`,
    );
}
