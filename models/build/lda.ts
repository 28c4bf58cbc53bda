/**
 * Linear discriminant analysis: class means and a shared covariance give one linear score per
 * class, w_k . x + b_k, which is exactly a 1 x 1 convolution.
 */
export interface LinearClassifier {
  /** weights[k][f] */
  weights: number[][];
  bias: number[];
}

/** Solves A x = b for symmetric positive definite A (Gaussian elimination with partial pivoting). */
export function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(m[r]?.[col] as number) > Math.abs(m[pivot]?.[col] as number)) pivot = r;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    const p = m[col] as number[];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const row = m[r] as number[];
      const f = (row[col] as number) / (p[col] as number);
      for (let c = col; c <= n; c++) row[c] = (row[c] as number) - f * (p[c] as number);
    }
  }
  return m.map((row, i) => (row[n] as number) / (row[i] as number));
}

/** Fits LDA with equal priors; `ridge` is added to the covariance diagonal for stability. */
export function fitLda(
  samples: Float64Array[],
  labels: number[],
  classes: number,
  ridge = 1e-3,
): LinearClassifier {
  const features = samples[0]?.length ?? 0;
  const means = Array.from({ length: classes }, () => new Array<number>(features).fill(0));
  const counts = new Array<number>(classes).fill(0);
  samples.forEach((x, i) => {
    const k = labels[i] as number;
    counts[k] = (counts[k] as number) + 1;
    const mean = means[k] as number[];
    for (let f = 0; f < features; f++) mean[f] = (mean[f] as number) + (x[f] as number);
  });
  means.forEach((mean, k) => {
    for (let f = 0; f < features; f++) mean[f] = (mean[f] as number) / Math.max(1, counts[k] as number);
  });
  const cov = Array.from({ length: features }, () => new Array<number>(features).fill(0));
  samples.forEach((x, i) => {
    const mean = means[labels[i] as number] as number[];
    for (let p = 0; p < features; p++) {
      const dp = (x[p] as number) - (mean[p] as number);
      const row = cov[p] as number[];
      for (let q = 0; q < features; q++)
        row[q] = (row[q] as number) + dp * ((x[q] as number) - (mean[q] as number));
    }
  });
  cov.forEach((row, p) => {
    for (let q = 0; q < features; q++)
      row[q] = (row[q] as number) / Math.max(1, samples.length - classes) + (p === q ? ridge : 0);
  });
  const weights = means.map((mean) => solve(cov, mean));
  const bias = means.map(
    (mean, k) => -0.5 * mean.reduce((s, v, f) => s + v * ((weights[k] as number[])[f] as number), 0),
  );
  return { weights, bias };
}
