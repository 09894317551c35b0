//! The metrics operators scrape: counted as requests pass, or read from the database and the
//! pool at scrape time. Encoded by `prometheus-client` (no HTTP server of its own, few
//! dependencies: its encoders and `parking_lot`).

use std::borrow::Cow;
use std::sync::atomic::AtomicU64;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::db::schema::outbox;
use crate::db::{DbConn, PoolUse};

/// The label of a request that matched no route: raw paths never become labels.
pub const UNMATCHED: &str = "unmatched";

/// One series of the request metrics. `route` is the route's pattern (`/orgs/{org}/users`),
/// never the path a client sent, so ids and tokens cannot multiply series or leak.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: Cow<'static, str>,
    pub status: u16,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Seconds; from a cached page (~1 ms) to a slow export.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What the outbox holds, read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxState {
    pub queued: i64,
    pub failed: i64,
    /// Seconds the oldest queued message has waited; 0 with none queued.
    pub oldest_queued_age_seconds: f64,
}

/// Every metric of one instance, shared by its workers (and its metrics listener).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    sign_in_failures: Counter,
    lockouts: Counter,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    pool_waiting: Gauge,
    outbox_queued: Gauge,
    outbox_failed: Gauge,
    outbox_oldest_queued_age: Gauge<f64, AtomicU64>,
    replica_lag: Gauge<f64, AtomicU64>,
    replica_serving: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("orgportal");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route pattern and status", requests.clone());
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route pattern and status",
            latency.clone(),
        );
        let sign_in_failures = Counter::default();
        registry.register("sign_in_failures", "Refused password sign-ins", sign_in_failures.clone());
        let lockouts = Counter::default();
        registry.register(
            "sign_in_lockouts",
            "Account and address pairs locked after failed sign-ins",
            lockouts.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let pool_in_use = gauge(&mut registry, "db_pool_connections_in_use", "Database connections lent out");
        let pool_idle = gauge(&mut registry, "db_pool_connections_idle", "Database connections idle in the pool");
        let pool_waiting = gauge(&mut registry, "db_pool_waiting", "Callers waiting for a database connection");
        let outbox_queued = gauge(&mut registry, "outbox_queued", "Emails queued for delivery");
        let outbox_failed = gauge(&mut registry, "outbox_failed", "Emails whose delivery failed for good");
        let outbox_oldest_queued_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "outbox_oldest_queued_age_seconds",
            "How long the oldest queued email has waited",
            outbox_oldest_queued_age.clone(),
        );
        let replica_lag = Gauge::<f64, AtomicU64>::default();
        // NaN until a read replica is configured: "no replica" must not read as "no lag".
        replica_lag.set(f64::NAN);
        registry.register(
            "replica_lag_seconds",
            "Replay lag of the read replica (NaN: no replica, or no fresh measure)",
            replica_lag.clone(),
        );
        let replica_serving = gauge(
            &mut registry,
            "replica_serving",
            "1 while the read replica serves list reads, 0 while it is skipped, -1 with no replica",
        );
        replica_serving.set(-1);
        Self {
            registry,
            requests,
            latency,
            sign_in_failures,
            lockouts,
            pool_in_use,
            pool_idle,
            pool_waiting,
            outbox_queued,
            outbox_failed,
            outbox_oldest_queued_age,
            replica_lag,
            replica_serving,
        }
    }

    /// Count one answered request and its time.
    pub fn observe_request(&self, labels: &RequestLabels, seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.latency.get_or_create(labels).observe(seconds);
    }

    /// Count one refused sign-in; `locked_now` when it was the one that locked the pair.
    pub fn sign_in_failed(&self, locked_now: bool) {
        self.sign_in_failures.inc();
        if locked_now {
            self.lockouts.inc();
        }
    }

    /// The read replica as its monitor last saw it (`None`: no replica configured).
    pub fn set_replica(&self, replica: Option<&crate::db::Replica>) {
        let Some(replica) = replica else {
            self.replica_lag.set(f64::NAN);
            self.replica_serving.set(-1);
            return;
        };
        self.replica_lag.set(replica.lag_seconds().unwrap_or(f64::NAN));
        self.replica_serving.set(i64::from(matches!(replica.health(), crate::db::replica::Health::Serving { .. })));
    }

    /// Everything in the Prometheus (OpenMetrics) text format, with the pool and the outbox
    /// as given (read just before).
    pub fn render(&self, pool: PoolUse, outbox: Option<OutboxState>) -> String {
        self.pool_in_use.set(i64::from(pool.in_use));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_waiting.set(i64::from(pool.waiting));
        // A failed read shows as NaN/-1 rather than as a calm zero.
        let outbox = outbox.unwrap_or(OutboxState { queued: -1, failed: -1, oldest_queued_age_seconds: f64::NAN });
        self.outbox_queued.set(outbox.queued);
        self.outbox_failed.set(outbox.failed);
        self.outbox_oldest_queued_age.set(outbox.oldest_queued_age_seconds);
        let mut text = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The outbox's counts at `now`. Queued rows are found through the partial index on queued
/// messages; failed ones have no index of their own, so that count scans the table (the
/// outbox keeps every message; see the report in README "Operations").
pub fn outbox_state(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<OutboxState> {
    let queued: i64 = outbox::table.filter(outbox::status.eq("queued")).count().get_result(conn)?;
    let failed: i64 = outbox::table.filter(outbox::status.eq("failed")).count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = outbox::table
        .filter(outbox::status.eq("queued"))
        .select(diesel::dsl::min(outbox::created_at))
        .get_result(conn)?;
    let oldest_queued_age_seconds =
        oldest.map_or(0.0, |created| (now - created).num_milliseconds().max(0) as f64 / 1000.0);
    Ok(OutboxState { queued, failed, oldest_queued_age_seconds })
}
