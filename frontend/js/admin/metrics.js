// Prometheus metrics as the Control Center reads them (the JSON of
// GET /api/admin/overview: metric name -> [{labels, value}]): sums, histogram
// quantiles, rates and consumer-lag labels. Pure functions, checked in Node.

/** Sum of a metric's series (all label sets); 0 when the metric is absent. */
export function sumSeries(series) {
  if (!Array.isArray(series)) return 0;
  return series.reduce((total, s) => total + (Number.isFinite(s?.value) ? s.value : 0), 0);
}

/**
 * A Prometheus histogram's `_bucket` series as sorted cumulative buckets
 * `[{le, count}]` (`le` = Infinity for "+Inf"). Series that differ in labels
 * other than `le` are added up.
 */
export function histogramBuckets(series) {
  if (!Array.isArray(series)) return [];
  const byLe = new Map();
  for (const s of series) {
    const raw = s?.labels?.le;
    if (raw === undefined) continue;
    const le = raw === '+Inf' || raw === 'Inf' ? Infinity : Number(raw);
    if (Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + (Number.isFinite(s.value) ? s.value : 0));
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/**
 * Estimate the q-quantile (0 < q < 1) from cumulative histogram buckets, the
 * way Prometheus' histogram_quantile() does:
 *
 *   rank = q × total observations (the +Inf bucket's count);
 *   take the first bucket whose cumulative count reaches the rank;
 *   interpolate linearly between that bucket's lower bound (the previous
 *   bucket's `le`, or 0 for the first one) and its upper bound `le`,
 *   assuming the bucket's observations are spread evenly inside it.
 *
 * The result is only as precise as the bucket is wide (the server's buckets
 * are 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s). When the
 * rank falls in the +Inf bucket the answer is "more than the largest finite
 * bound": `{ value: <that bound>, over: true }`.
 *
 * @returns {{ value: number, over: boolean } | null} null without observations
 */
export function estimateQuantile(q, buckets) {
  if (!buckets.length) return null;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank && count > prevCount) {
      if (le === Infinity) return { value: prevLe, over: true };
      const fraction = (rank - prevCount) / (count - prevCount);
      return { value: prevLe + (le - prevLe) * fraction, over: false };
    }
    if (le !== Infinity) prevLe = le;
    prevCount = count;
  }
  return { value: prevLe, over: true };
}

/** Non-cumulative counts per bucket (for the small distribution chart). */
export function bucketCounts(buckets) {
  let prev = 0;
  return buckets.map(({ le, count }) => {
    const n = Math.max(0, count - prev);
    prev = count;
    return { le, n };
  });
}

/** A histogram's summary: observations, p50, p99 and per-bucket counts. */
export function summarizeHistogram(metrics, name) {
  const buckets = histogramBuckets(metrics?.[`${name}_bucket`]);
  const count = buckets.length ? buckets[buckets.length - 1].count : sumSeries(metrics?.[`${name}_count`]);
  return {
    count,
    sum: sumSeries(metrics?.[`${name}_sum`]),
    p50: estimateQuantile(0.5, buckets),
    p99: estimateQuantile(0.99, buckets),
    buckets: bucketCounts(buckets),
  };
}

/** A consumer-lag series' label: "chat · p0", "presence · p0" or the topic. */
export function lagLabel(labels, topic) {
  const t = labels?.topic ?? '?';
  const p = labels?.partition ?? '?';
  if (t === topic) return { group: 'chat', partition: p };
  if (t === `${topic}-presence`) return { group: 'presence', partition: p };
  return { group: t, partition: p };
}

/** Per-second rates between consecutive samples [{t, received, delivered}]. */
export function rateSeries(samples) {
  const out = [];
  for (let i = 1; i < samples.length; i += 1) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (dt <= 0) continue;
    out.push({
      received: (samples[i].received - samples[i - 1].received) / dt,
      delivered: (samples[i].delivered - samples[i - 1].delivered) / dt,
    });
  }
  return out;
}
