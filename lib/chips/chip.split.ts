import type { Split } from "../contracts/chips.contract.ts";
import { seededRandom } from "../random.ts";
import { byChipPosition, type ChipCell, chipId } from "./chip.grid.ts";

/** A seeded Fisher-Yates shuffle of a copy. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** At most `max` of the chips, a seeded choice (the same chips for the same chips and seed), in position order. */
export function capChips<T extends ChipCell>(
  chips: readonly T[],
  max: number | undefined,
  seed: number,
): T[] {
  const sorted = [...chips].sort(byChipPosition);
  if (max === undefined || sorted.length <= max) return sorted;
  return shuffled(sorted, seed).slice(0, max).sort(byChipPosition);
}

/** The block of a chip: chips of one block go to one side together. */
export function blockOf(cell: ChipCell, blockChips: number): string {
  return `${Math.floor(cell.col / blockChips)}_${Math.floor(cell.row / blockChips)}`;
}

/**
 * Training and validation chip ids (each in position order). `random` is a split by chip;
 * `blocks` one by square blocks of `blockChips` chips, each block whole on one side, so
 * validation chips do not sit among training chips. Blocks, in a seeded order, go to validation
 * until it holds `validationShare` of the chips, while at least one block is left for training.
 */
export function splitChips(
  chips: readonly ChipCell[],
  split: Split,
): { training: string[]; validation: string[] } {
  const size = split.kind === "random" ? 1 : split.blockChips;
  const blocks = new Map<string, ChipCell[]>();
  for (const chip of [...chips].sort(byChipPosition)) {
    const key = blockOf(chip, size);
    blocks.set(key, [...(blocks.get(key) ?? []), chip]);
  }
  const order = shuffled([...blocks.keys()].sort(), split.seed);
  const validation: ChipCell[] = [];
  let left = order.length;
  for (const key of order) {
    if (validation.length >= split.validationShare * chips.length || left <= 1) break;
    validation.push(...(blocks.get(key) as ChipCell[]));
    left--;
  }
  const held = new Set(validation.map(chipId));
  return {
    training: [...chips]
      .sort(byChipPosition)
      .map(chipId)
      .filter((id) => !held.has(id)),
    validation: validation.sort(byChipPosition).map(chipId),
  };
}
