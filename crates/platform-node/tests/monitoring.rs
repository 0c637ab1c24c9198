//! What `deploy/monitoring/` names is what a running validator exports: every `platform_*`
//! metric in the alert rules and in the Grafana dashboard appears in `/metrics` of a node.

mod lone;

use std::collections::BTreeSet;
use std::path::PathBuf;

use lone::{chain, key, start};

/// The `platform_*` names in a rules or dashboard file.
fn names_in(path: &PathBuf) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("platform_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        // A name, not the end of another identifier.
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(tail[..len].to_owned());
        }
        rest = &tail[len..];
    }
    names
}

/// The sample names `/metrics` can carry: each declared family with the suffixes its type
/// gives it (a labelled family may have no sample yet).
fn exported(metrics: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in metrics.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            let mut parts = declared.split(' ');
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#')
            && let Some(name) = line.split(['{', ' ']).next()
        {
            names.insert(name.to_owned());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_alerts_and_the_dashboard_name_is_exported_by_a_running_node() {
    let (validator, miner, owner) = (key("Validator"), key("Miner"), key("Owner"));
    let dir = tempfile::tempdir().expect("dir");
    let node = start(dir.path(), chain(&validator, &miner, &owner), &owner).await;
    let url = format!("http://{}/metrics", node.http_addr);
    let metrics = tokio::task::spawn_blocking(move || {
        ureq::get(&url).call().expect("/metrics").into_body().read_to_string().expect("text")
    })
    .await
    .expect("scrape");
    let exported = exported(&metrics);

    let monitoring = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/monitoring");
    for file in ["alerts.yml", "alerts.test.yml", "grafana/platform.json"] {
        let named = names_in(&monitoring.join(file));
        assert!(named.len() >= 5, "{file} names metrics: {named:?}");
        let missing: Vec<_> = named.difference(&exported).collect();
        assert!(missing.is_empty(), "{file} names metrics the node does not export: {missing:?}\n{metrics}");
    }
    // The gauges read at scrape time hold real values.
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}"));
        line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a number")
    };
    assert!(value("platform_disk_total_bytes") > 0.0);
    assert!(value("platform_data_bytes") > 0.0, "data/ holds the store");
    assert_eq!(value("platform_connected_stake_permille"), 1000.0, "a lone validator holds all the stake");
    assert_eq!(value("platform_validators"), 1.0);
    assert_eq!(value("platform_tempo_blocks"), 20.0);
    node.shutdown().await;
}
