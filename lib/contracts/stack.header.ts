import { z } from "zod";

/**
 * A staged tile: the chosen granules warped onto the label grid, `channels` int16 planes
 * (time-major: date 1's six bands, then date 2's, ...), cut into square chunks of one stride so
 * that sliding windows read whole chunks. Layout: 8-byte magic, 4-byte header length, JSON header
 * with every chunk's offset and length, then the chunks row by row, each deflated [channel][y][x].
 * A chunk row is one contiguous range: one GET per row of windows.
 */
export const StackMagic = "CMSTACK1";
export const StackNodata = -9999;

export const StackHeaderParser = z
  .object({
    grid: z
      .object({
        epsg: z.number().int(),
        origin: z.tuple([z.number(), z.number()]),
        pixelSize: z.number(),
        width: z.number().int(),
        height: z.number().int(),
      })
      .strict(),
    channels: z.number().int(),
    chunk: z.number().int(),
    chunksAcross: z.number().int(),
    chunksDown: z.number().int(),
    /** [offset, length] of each chunk from the start of the file, row-major. */
    chunks: z.array(z.tuple([z.number().int(), z.number().int()])),
    /** Pixels valid in every date: the ones the model can map. */
    validPixels: z.number().int(),
  })
  .strict();
export type StackHeader = z.infer<typeof StackHeaderParser>;
