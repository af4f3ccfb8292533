//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! Requests are labelled by route pattern (`/v1/modules/{id}`), never by raw path, so the number
//! of series stays bounded whatever clients send. Optional dependencies (Redis) report whether
//! the instance runs on their in-process fallbacks (`guild_dependency_degraded`, 1 or 0) and how
//! many outages it has seen (`guild_dependency_degradations_total`).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabels {
    dependency: &'static str,
}

/// An optional dependency's state, sampled when metrics are rendered.
#[derive(Debug, Clone, Copy)]
pub struct DependencyState {
    /// Its name (`redis`).
    pub name: &'static str,
    /// Whether the instance runs on its in-process fallbacks now.
    pub degraded: bool,
    /// How many times it went from answering to degraded since start.
    pub degradations: u64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    method: String,
    route: String,
}

/// The process's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    db_connections: Gauge,
    db_idle: Gauge,
    db_waiting: Gauge,
    degraded: Family<DependencyLabels, Gauge>,
    degradations: Family<DependencyLabels, Counter>,
    /// Held while the degradation counters catch up, so two scrapes do not both add.
    sampling: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers Guild's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("guild");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to serve an HTTP request",
            latency.clone(),
        );
        let db_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            db_connections.clone(),
        );
        let db_idle = Gauge::default();
        registry.register("db_pool_idle", "Idle database connections", db_idle.clone());
        let db_waiting = Gauge::default();
        registry.register(
            "db_pool_waiting",
            "Requests waiting for a database connection",
            db_waiting.clone(),
        );
        let degraded = Family::<DependencyLabels, Gauge>::default();
        registry.register(
            "dependency_degraded",
            "1 while an optional dependency does not answer and the instance runs on its in-process fallbacks",
            degraded.clone(),
        );
        let degradations = Family::<DependencyLabels, Counter>::default();
        registry.register(
            "dependency_degradations",
            "Times an optional dependency went from answering to degraded",
            degradations.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            db_connections,
            db_idle,
            db_waiting,
            degraded,
            degradations,
            sampling: std::sync::Mutex::new(()),
        }
    }

    /// Records one served request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Encodes every metric, after sampling the pool's state and the optional dependencies'.
    pub fn render(&self, pool: &deadpool::Status, dependencies: &[DependencyState]) -> String {
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.db_connections.set(as_i64(pool.size));
        self.db_idle.set(as_i64(pool.available));
        self.db_waiting.set(as_i64(pool.waiting));
        let _sampling = self
            .sampling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for dependency in dependencies {
            let labels = DependencyLabels {
                dependency: dependency.name,
            };
            self.degraded
                .get_or_create(&labels)
                .set(i64::from(dependency.degraded));
            // The adapter counts outages; the counter catches up with it.
            let counter = self.degradations.get_or_create(&labels);
            let seen = counter.get();
            if dependency.degradations > seen {
                counter.inc_by(dependency.degradations - seen);
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
