//! The Prometheus recorder behind `/metrics`, and the same figures as JSON
//! for `/api/stats`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{json, Value};

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (tests start several servers in
/// one process) and returns its handle.
pub fn recorder() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = [actors::metrics::PRODUCE_SECONDS, actors::metrics::END_TO_END_SECONDS]
                .into_iter()
                .try_fold(PrometheusBuilder::new(), |builder, name| {
                    builder.set_buckets_for_metric(Matcher::Full(name.into()), actors::metrics::LATENCY_BUCKETS)
                })
                .expect("latency buckets are not empty");
            let handle = builder.install_recorder().unwrap_or_else(|e| {
                // Another recorder (in an embedding program) wins; ours still renders.
                log::warn!("metrics recorder not installed: {e}");
                PrometheusBuilder::new().build_recorder().handle()
            });
            actors::metrics::describe();
            handle
        })
        .clone()
}

/// The Prometheus text as JSON: `{"metric": [{"labels": {...}, "value": n}]}`.
pub fn as_json(prometheus_text: &str) -> Value {
    let mut metrics: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for line in prometheus_text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
            None => (series, BTreeMap::new()),
        };
        metrics.entry(name).or_default().push(json!({"labels": labels, "value": value}));
    }
    json!(metrics)
}

/// `a="1",b="x"` into a map. Our label values never hold quotes or commas.
fn parse_labels(text: &str) -> BTreeMap<&str, &str> {
    text.split(',').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.trim(), v.trim_matches('"'))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_becomes_json() {
        let text = "# HELP x help\n# TYPE x counter\nchat_errors_total{code=\"empty_text\"} 3\nchat_messages_received_total 7\n";
        assert_eq!(
            as_json(text),
            json!({
                "chat_errors_total": [{"labels": {"code": "empty_text"}, "value": 3.0}],
                "chat_messages_received_total": [{"labels": {}, "value": 7.0}],
            })
        );
    }
}
