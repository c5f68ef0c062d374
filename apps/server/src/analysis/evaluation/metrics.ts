/** Classification and calibration metrics for the sentiment engines (pure). */

export interface ClassificationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  /** Per class: precision, recall, F1, support. */
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
}

/** Accuracy and macro-F1 over `labels` (predictions outside `labels`, e.g. null, count as wrong). */
export function classificationReport(
  gold: readonly string[],
  predicted: readonly (string | null)[],
  labels: readonly string[],
): ClassificationReport {
  const n = gold.length;
  let correct = 0;
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const g = gold[i] ?? '';
    const p = predicted[i] ?? null;
    if (p === g) {
      correct++;
      tp.set(g, (tp.get(g) ?? 0) + 1);
    } else {
      fn.set(g, (fn.get(g) ?? 0) + 1);
      if (p !== null) fp.set(p, (fp.get(p) ?? 0) + 1);
    }
  }
  const perClass = labels.map((label) => {
    const t = tp.get(label) ?? 0;
    const precision = t + (fp.get(label) ?? 0) === 0 ? 0 : t / (t + (fp.get(label) ?? 0));
    const recall = t + (fn.get(label) ?? 0) === 0 ? 0 : t / (t + (fn.get(label) ?? 0));
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support: t + (fn.get(label) ?? 0) };
  });
  const macroF1 = perClass.reduce((s, c) => s + c.f1, 0) / Math.max(1, perClass.length);
  return { n, accuracy: n === 0 ? 0 : correct / n, macroF1, perClass };
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return Number.NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] ?? 0;
    my += y[i] ?? 0;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] ?? 0) - mx;
    const dy = (y[i] ?? 0) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Expected calibration error of the top-label confidence, with `bins` equal-width bins:
 * Σ (|bin| / n) · |accuracy(bin) − confidence(bin)|.
 */
export function expectedCalibrationError(
  probabilities: readonly (readonly number[])[],
  goldIndex: readonly number[],
  bins = 15,
): number {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const acc = new Array<number>(bins).fill(0);
  const n = probabilities.length;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] ?? [];
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] ?? 0) > (p[best] ?? 0)) best = c;
    const top = p[best] ?? 0;
    const b = Math.min(bins - 1, Math.floor(top * bins));
    count[b] = (count[b] ?? 0) + 1;
    conf[b] = (conf[b] ?? 0) + top;
    if (best === goldIndex[i]) acc[b] = (acc[b] ?? 0) + 1;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = count[b] ?? 0;
    if (c > 0) ece += (c / n) * Math.abs((acc[b] ?? 0) / c - (conf[b] ?? 0) / c);
  }
  return ece;
}
