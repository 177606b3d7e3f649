//! `/metrics`: requests by endpoint and outcome, request latency, and how many requests each
//! store transaction answered, through the Prometheus project's own client library
//! (`prometheus-client`), which writes the OpenMetrics text format Prometheus scrapes.
//! Never a token, a user name or anything else from the store.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    endpoint: &'static str,
    outcome: &'static str,
}

/// The server's metrics (cheap to clone: every part is shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    /// Observed by the store desk.
    pub batches: Histogram,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "tokman_requests",
            "HTTP requests answered, by endpoint and outcome",
            requests.clone(),
        );
        // 50 µs to about 1.6 s.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "tokman_request_duration_seconds",
            "Time from a request's arrival to its answer",
            latency.clone(),
        );
        let batches = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "tokman_batch_requests",
            "Requests answered by one store transaction (group commit)",
            batches.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
            batches,
        }
    }

    pub fn record(&self, endpoint: &'static str, outcome: &'static str, seconds: f64) {
        self.requests
            .get_or_create(&Labels { endpoint, outcome })
            .inc();
        self.latency.observe(seconds);
    }

    /// The text to answer `/metrics` with.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
