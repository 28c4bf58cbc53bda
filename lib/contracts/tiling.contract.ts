// How a tile is covered by model windows and their logits combined: the choice a run or tile makes
// (CLI, workflow and activity inputs) and that a tile's manifest records.
import { z } from "zod";

export const TilingKinds = ["mmseg", "blended"] as const;
export const TilingKindParser = z.enum(TilingKinds);
export type TilingKind = z.infer<typeof TilingKindParser>;

/** A window side or step in pixels: a tile is 3660 px wide, a staged grid under 5000. */
export const TilingPixelsParser = z.number().int().min(1).max(4096);
const Pixels = TilingPixelsParser;
/** Pixels dropped at a window's side: under half the largest window. */
export const TilingBorderParser = z.number().int().min(0).max(2048);

export const TilingParser = z
  .discriminatedUnion("kind", [
    /** mmsegmentation's slide_inference: the seed's evaluation, logits averaged by window count. */
    z.object({ kind: z.literal("mmseg"), size: Pixels, stride: Pixels }).strict(),
    /**
     * TerraTorch's tiled inference: `border` px of each window's logits dropped (kept at the
     * raster's edges, where no other window reaches), the rest weighted by a cosine ramp over the
     * overlap with the next window, and normalised by the summed weights.
     */
    z
      .object({ kind: z.literal("blended"), size: Pixels, stride: Pixels, border: TilingBorderParser })
      .strict(),
  ])
  .superRefine((t, ctx) => {
    if (t.stride > t.size)
      ctx.addIssue({ code: "custom", path: ["stride"], message: `larger than the ${t.size} px window` });
    // What a window keeps must reach what its neighbour keeps, or pixels between them get no logits.
    else if (t.kind === "blended" && t.stride + 2 * t.border > t.size)
      ctx.addIssue({
        code: "custom",
        path: ["border"],
        message: `2 x border + stride must be at most the ${t.size} px window, or pixels between windows are left out`,
      });
  });
export type Tiling = z.infer<typeof TilingParser>;

/** What a person or a manifest may leave unsaid. */
export interface TilingChoice {
  kind?: TilingKind;
  stride?: number;
  border?: number;
}

/**
 * The tiling a choice comes to for a model with window `chip.size` and slide stride `chip.stride`.
 * The window is the model's own: its graph takes windows of one size. The kind from the choice,
 * else the manifest's, else mmseg; mmseg's stride the manifest's; blended's TerraTorch's defaults
 * (stride 192 and border 8 for its 224 px window), in proportion for another window. Not checked
 * here: the caller parses the result, so a bad combination is named as a field.
 */
export function resolveTiling(
  chip: { size: number; stride: number },
  choice: TilingChoice,
  manifestKind: TilingKind = "mmseg",
): Tiling {
  const kind = choice.kind ?? manifestKind;
  const { size } = chip;
  if (kind === "mmseg") return { kind, size, stride: choice.stride ?? chip.stride };
  return {
    kind,
    size,
    stride: choice.stride ?? Math.round((size * 192) / 224),
    border: choice.border ?? Math.round((size * 8) / 224),
  };
}

/** A short name of a tiling, for ids and object keys: `mmseg-224-112`, `blended-224-192-8`. */
export function tilingTag(t: Tiling): string {
  return t.kind === "mmseg" ? `mmseg-${t.size}-${t.stride}` : `blended-${t.size}-${t.stride}-${t.border}`;
}

/** The tiling a finished record names; records from before it was a choice were mmseg at the model's window and stride. */
export function recordedTiling(recorded: Tiling | undefined, chip: { size: number; stride: number }): Tiling {
  return recorded ?? { kind: "mmseg", size: chip.size, stride: chip.stride };
}
