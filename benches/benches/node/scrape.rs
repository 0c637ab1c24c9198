//! Metrics read from a validator's `/metrics`: counters, and histograms' quantiles between two
//! scrapes.

/// The text of `url`'s `/metrics` (empty when unreachable).
async fn metrics_text(url: &str) -> String {
    let url = format!("{url}/metrics");
    tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().ok().and_then(|mut r| r.body_mut().read_to_string().ok()).unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

/// The value of counter or gauge `name` at `url`, truncated (0 when absent).
pub(crate) async fn metric(url: &str, name: &str) -> u64 {
    metric_f64(url, name).await as u64
}

/// The value of metric `name` at `url` (0 when absent).
pub(crate) async fn metric_f64(url: &str, name: &str) -> f64 {
    let text = metrics_text(url).await;
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The cumulative buckets `(upper bound in seconds, count)` of histogram `name` at `url`.
pub(crate) async fn histogram(url: &str, name: &str) -> Vec<(f64, u64)> {
    let text = metrics_text(url).await;
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// The `q` quantile of the observations between two scrapes of the same histograms (summed
/// over validators), interpolated linearly within its bucket; and how many there were.
pub(crate) fn quantile(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> (f64, u64) {
    let deltas: Vec<(f64, u64)> =
        after.iter().zip(before).map(|(&(le, a), &(_, b))| (le, a.saturating_sub(b))).collect();
    let total = deltas.last().map_or(0, |&(_, c)| c);
    let rank = q * total as f64;
    let mut lower = (0.0, 0u64);
    for &(le, count) in &deltas {
        if count as f64 >= rank {
            let span = (count - lower.1).max(1) as f64;
            let upper = if le.is_finite() { le } else { lower.0 * 2.0 };
            return (lower.0 + (upper - lower.0) * (rank - lower.1 as f64) / span, total);
        }
        lower = (le, count);
    }
    (f64::NAN, total)
}

/// The histograms of every validator, summed bucket by bucket.
pub(crate) async fn summed_histogram(urls: &[String], name: &str) -> Vec<(f64, u64)> {
    let mut sum: Vec<(f64, u64)> = Vec::new();
    for url in urls {
        let one = histogram(url, name).await;
        if sum.is_empty() {
            sum = one;
        } else {
            for (slot, (_, count)) in sum.iter_mut().zip(one) {
                slot.1 += count;
            }
        }
    }
    sum
}
