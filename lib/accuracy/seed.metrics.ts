/**
 * The seed model card's published results (Prithvi-100M multi-temporal crop classification, 80
 * epochs, validation chips), for the report's side-by-side table. Acc in percent there, 0..1 here.
 */
export const SeedPerClass: Record<number, { iou: number; acc: number }> = {
  1: { iou: 0.4038, acc: 0.4689 },
  2: { iou: 0.4747, acc: 0.6638 },
  3: { iou: 0.5491, acc: 0.6547 },
  4: { iou: 0.5297, acc: 0.6746 },
  5: { iou: 0.402, acc: 0.5891 },
  6: { iou: 0.3611, acc: 0.5649 },
  7: { iou: 0.6804, acc: 0.9037 },
  8: { iou: 0.4967, acc: 0.6716 },
  9: { iou: 0.3084, acc: 0.6675 },
  10: { iou: 0.3493, acc: 0.5923 },
  11: { iou: 0.3237, acc: 0.6694 },
  12: { iou: 0.3283, acc: 0.7356 },
  13: { iou: 0.3427, acc: 0.4712 },
};
export const SeedOverall = { aAcc: 0.6064, mIoU: 0.4269, mAcc: 0.6406 };
