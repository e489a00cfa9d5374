//! The Prometheus registry: every metric hrsync exports, in one process-wide place the
//! engine, the daemon and the admin endpoint all record into. Label values are names from
//! the config (apps, sources), operation kinds and results, never personal data.

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `hrsync_cycles_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CycleLabels {
    /// What started the cycle: `scheduled`, `sync`, `resync`, `webhook`.
    pub kind: String,
    /// How it ended: `ok`, `failed`, `guarded`, `interrupted`.
    pub result: String,
}

/// Labels of `hrsync_operations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The app's name from the config.
    pub app: String,
    /// The operation (`create`, `update`, `deactivate`, ...).
    pub op: String,
    /// `ok` or `failed`.
    pub result: String,
}

/// Labels of `hrsync_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The app's name from the config.
    pub app: String,
    /// The HTTP status, or `error` when no answer came.
    pub status: String,
}

/// Labels of per-app gauges and histograms.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabel {
    /// The app's name from the config.
    pub app: String,
}

/// Labels of per-source gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// The source's name from the config.
    pub source: String,
}

/// Labels of `hrsync_webhooks_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// The source's name from the config (or `unknown` for a name the config lacks).
    pub source: String,
    /// `accepted`, `bad_signature`, `replayed`, `too_large`, `unknown_source`, ...
    pub result: String,
}

/// Labels of `hrsync_config_reloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok` or `rejected`.
    pub result: String,
}

/// A histogram family keyed by app.
type AppHistograms = Family<AppLabel, Histogram, fn() -> Histogram>;

/// Every metric hrsync exports, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    /// `hrsync_cycles_total{kind,result}`.
    pub cycles: Family<CycleLabels, Counter>,
    /// `hrsync_cycle_duration_seconds`.
    pub cycle_duration: Histogram,
    /// `hrsync_last_success_timestamp_seconds`: when the last cycle without failures ended.
    pub last_success: Gauge<f64, AtomicU64>,
    /// `hrsync_operations_total{app,op,result}`.
    pub operations: Family<OperationLabels, Counter>,
    /// `hrsync_http_requests_total{app,status}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `hrsync_http_request_duration_seconds{app}`.
    pub http_duration: AppHistograms,
    /// `hrsync_circuit_open{app}`: 1 while the app's circuit is open.
    pub circuit_open: Family<AppLabel, Gauge>,
    /// `hrsync_held_operations{app}`: deprovisions held by a guard in the last cycle.
    pub held_operations: Family<AppLabel, Gauge>,
    /// `hrsync_quarantined_records{source}`: records set aside in the last read.
    pub quarantined_records: Family<SourceLabel, Gauge>,
    /// `hrsync_source_records{source}`: records the last read returned.
    pub source_records: Family<SourceLabel, Gauge>,
    /// `hrsync_config_reloads_total{result}`.
    pub config_reloads: Family<ResultLabel, Counter>,
    /// `hrsync_webhooks_total{source,result}`.
    pub webhooks: Family<WebhookLabels, Counter>,
}

/// Registers a clone of `metric` (they share their values) and returns it.
fn reg<M>(r: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    r.register(name, help, metric.clone());
    metric
}

fn http_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    /// A fresh registry with every metric registered (and so exported from the start).
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("hrsync");
        let cycle_buckets = exponential_buckets(0.05, 2.0, 16);
        Metrics {
            cycles: reg(
                &mut r,
                "cycles",
                "Cycles run, by what started them and how they ended",
                Family::default(),
            ),
            cycle_duration: reg(
                &mut r,
                "cycle_duration_seconds",
                "How long cycles took",
                Histogram::new(cycle_buckets),
            ),
            last_success: reg(
                &mut r,
                "last_success_timestamp_seconds",
                "Unix time the last cycle without failures ended",
                Gauge::default(),
            ),
            operations: reg(
                &mut r,
                "operations",
                "Identity changes sent to apps, by app, operation and result",
                Family::default(),
            ),
            http_requests: reg(
                &mut r,
                "http_requests",
                "HTTP requests to apps, by app and status",
                Family::default(),
            ),
            http_duration: reg(
                &mut r,
                "http_request_duration_seconds",
                "Latency of HTTP requests to apps",
                Family::new_with_constructor(http_histogram as fn() -> Histogram),
            ),
            circuit_open: reg(
                &mut r,
                "circuit_open",
                "1 while an app's circuit breaker is open",
                Family::default(),
            ),
            held_operations: reg(
                &mut r,
                "held_operations",
                "Operations a deprovision guard held in the last cycle",
                Family::default(),
            ),
            quarantined_records: reg(
                &mut r,
                "quarantined_records",
                "Records set aside in a source's last read",
                Family::default(),
            ),
            source_records: reg(
                &mut r,
                "source_records",
                "Records a source's last read returned",
                Family::default(),
            ),
            config_reloads: reg(
                &mut r,
                "config_reloads",
                "Config reloads, by result",
                Family::default(),
            ),
            webhooks: reg(
                &mut r,
                "webhooks",
                "HR webhooks received, by source and result",
                Family::default(),
            ),
            registry: r,
        }
    }

    /// The Prometheus text exposition of every metric (what `GET /metrics` serves).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error would only mean a partial page.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("Rendering the metrics failed; the page is partial.");
        }
        out
    }

    /// Counts one identity change sent to `app`.
    pub fn operation(&self, app: &str, op: &str, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.operations
            .get_or_create(&OperationLabels {
                app: app.to_string(),
                op: op.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// Counts one finished cycle and observes its duration.
    pub fn cycle(&self, kind: &str, result: &str, secs: f64) {
        self.cycles
            .get_or_create(&CycleLabels {
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.cycle_duration.observe(secs);
    }

    /// Counts one config reload (`ok` or `rejected`).
    pub fn reload(&self, result: &str) {
        self.config_reloads
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }

    /// Counts one webhook from `source` with its `result`.
    pub fn webhook(&self, source: &str, result: &str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                source: source.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// Counts one HTTP request to `app` (status None: no answer) and its latency.
    pub fn http_request(&self, app: &str, status: Option<u16>, secs: f64) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        self.http_requests
            .get_or_create(&HttpLabels {
                app: app.to_string(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&AppLabel {
                app: app.to_string(),
            })
            .observe(secs);
    }

    /// Sets a per-app gauge.
    pub fn set_app(family: &Family<AppLabel, Gauge>, app: &str, value: i64) {
        family
            .get_or_create(&AppLabel {
                app: app.to_string(),
            })
            .set(value);
    }

    /// Sets a per-source gauge.
    pub fn set_source(family: &Family<SourceLabel, Gauge>, source: &str, value: i64) {
        family
            .get_or_create(&SourceLabel {
                source: source.to_string(),
            })
            .set(value);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The process-wide metrics: one daemon, one registry, recorded from wherever the event
/// happens without threading a handle through every call.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_the_daemon_promises_is_exported() {
        let m = Metrics::new();
        m.operation("slack", "create", true);
        m.cycle("scheduled", "ok", 0.2);
        m.http_request("slack", Some(201), 0.01);
        m.reload("ok");
        m.webhook("hris", "accepted");
        Metrics::set_app(&m.circuit_open, "slack", 0);
        Metrics::set_app(&m.held_operations, "slack", 0);
        Metrics::set_source(&m.quarantined_records, "hris", 0);
        Metrics::set_source(&m.source_records, "hris", 3);
        let page = m.render();
        for name in [
            "hrsync_cycles_total",
            "hrsync_cycle_duration_seconds",
            "hrsync_last_success_timestamp_seconds",
            "hrsync_operations_total",
            "hrsync_http_requests_total",
            "hrsync_http_request_duration_seconds",
            "hrsync_circuit_open",
            "hrsync_held_operations",
            "hrsync_quarantined_records",
            "hrsync_source_records",
            "hrsync_config_reloads_total",
            "hrsync_webhooks_total",
        ] {
            assert!(
                page.contains(&format!("# TYPE {}", name.trim_end_matches("_total"))),
                "{name} missing:\n{page}"
            );
        }
        assert!(
            page.contains("hrsync_operations_total{app=\"slack\",op=\"create\",result=\"ok\"} 1"),
            "{page}"
        );
    }
}
