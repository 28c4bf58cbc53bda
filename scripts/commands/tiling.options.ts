import type { Command } from "commander";
import {
  resolveTiling,
  type Tiling,
  TilingBorderParser,
  TilingKindParser,
  TilingKinds,
  TilingParser,
  TilingPixelsParser,
} from "../../lib/contracts/tiling.contract.ts";
import { InputError, optionValue } from "../cli.errors.ts";
import { parseNumberOption } from "../cli.inputs.ts";

export interface TilingOptions {
  tiling?: string;
  stride?: string;
  border?: string;
}

/** `--tiling`, `--stride` and `--border`, as `run` and `tile` take them. */
export function addTilingOptions(command: Command): Command {
  return command
    .option(
      `--tiling <kind>`,
      `${TilingKinds.join(" or ")}: the seed's slide, or TerraTorch's blended windows (default: the model manifest's, else mmseg)`,
    )
    .option(
      "--stride <px>",
      "step between windows (default: mmseg the manifest's, blended 192 for 224 px windows)",
    )
    .option(
      "--border <px>",
      "blended: pixels of each window's logits dropped where another window covers them (default 8)",
    );
}

/**
 * The tiling of a run or tile: the model's own (its manifest's, `shape.tiling`) with the options
 * laid over it, checked as the workflows check it. A series model has no windows to tile.
 */
export function tilingOf(
  options: TilingOptions,
  shape: { chip: { size: number; stride: number }; tiling?: Tiling },
  model: string,
): Tiling | undefined {
  const given = [options.tiling, options.stride, options.border].some((o) => o !== undefined);
  if (!shape.tiling) {
    if (given)
      throw new InputError(`--tiling: model '${model}' maps pixel by pixel, it has no windows to tile`);
    return undefined;
  }
  if (!given) return shape.tiling;
  const kind =
    options.tiling === undefined
      ? shape.tiling.kind
      : optionValue("--tiling", options.tiling, TilingKindParser);
  if (options.border !== undefined && kind !== "blended")
    throw new InputError(
      `--border '${options.border}': only blended tiling drops a border (add --tiling blended)`,
    );
  const number = (text: string | undefined, option: string, schema: typeof TilingPixelsParser) =>
    text === undefined ? undefined : parseNumberOption(text, option, schema);
  const stride = number(options.stride, "stride", TilingPixelsParser);
  const border = number(options.border, "border", TilingBorderParser);
  const tiling = resolveTiling(shape.chip, {
    kind,
    ...(stride !== undefined ? { stride } : {}),
    ...(border !== undefined ? { border } : {}),
  });
  const parsed = TilingParser.safeParse(tiling);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "tiling");
    throw new InputError(`--${field} '${(tiling as Record<string, unknown>)[field]}': ${issue?.message}`);
  }
  return tiling;
}
