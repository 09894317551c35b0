//! Operators' endpoints: `/healthz`, `/readyz` and `/metrics`, and the middleware that feeds
//! the request metrics. `/metrics` is never public by default: it is served on its own
//! listener (`ORGPORTAL_METRICS_BIND`), or on the main one only to a bearer token
//! (`ORGPORTAL_METRICS_TOKEN`); with neither, the main listener answers 404.

pub mod health;
pub mod metrics;
pub mod recorder;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub use self::metrics::Metrics;
pub use self::recorder::RecordRequests;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;

/// The OpenMetrics text format, which Prometheus reads natively.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The outbox counts are skipped (and shown as unknown) past this, so a slow database cannot
/// hold a scrape past Prometheus's own timeout.
const OUTBOX_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Mount the operators' routes on the main listener.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics_with_token));
}

/// `GET /metrics` on the main listener: 404 unless a token is configured, then 401 to any
/// request without exactly that bearer token.
async fn metrics_with_token(
    req: HttpRequest,
    config: web::Data<Config>,
    metrics: web::Data<Metrics>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, crate::error::AppError> {
    let Some(token) = &config.metrics_token else {
        return Err(crate::error::AppError::NotFound);
    };
    let authorization = req.headers().get(header::AUTHORIZATION).map_or(&b""[..], |value| value.as_bytes());
    if !token.opens(authorization) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="metrics""#))
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .finish());
    }
    Ok(scrape(&metrics, &db, &clock).await)
}

/// `GET /metrics` on the metrics listener, which only operators can reach.
async fn metrics_open(metrics: web::Data<Metrics>, db: web::Data<Db>, clock: web::Data<Clock>) -> HttpResponse {
    scrape(&metrics, &db, &clock).await
}

async fn scrape(metrics: &Metrics, db: &Db, clock: &Clock) -> HttpResponse {
    let now = clock.now();
    let read = db.run(move |conn| metrics::outbox_state(conn, now));
    let outbox = match actix_web::rt::time::timeout(OUTBOX_READ_TIMEOUT, read).await {
        Ok(Ok(state)) => Some(state),
        Ok(Err(error)) => {
            log::warn!("metrics: cannot read the outbox: {error}");
            None
        }
        Err(_) => {
            log::warn!("metrics: the outbox counts took over {} s", OUTBOX_READ_TIMEOUT.as_secs());
            None
        }
    };
    metrics.set_replica(db.replica().map(|replica| &**replica));
    let text = metrics.render(db.pool_use(), outbox);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, METRICS_CONTENT_TYPE))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(text)
}

/// The app of the metrics listener: `/metrics` and nothing else (everything else 404).
pub fn metrics_app(
    metrics: Arc<Metrics>,
    db: Db,
    clock: Arc<Clock>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::from(metrics))
        .app_data(web::Data::new(db))
        .app_data(web::Data::from(clock))
        .route("/metrics", web::get().to(metrics_open))
}

/// Start the metrics listener on `bind` (one worker: scrapes are rare). Returns the server to
/// run beside the main one and the address it listens on (port 0 picks a free one).
pub fn metrics_server(
    bind: SocketAddr,
    metrics: Arc<Metrics>,
    db: Db,
    clock: Arc<Clock>,
) -> anyhow::Result<(actix_web::dev::Server, SocketAddr)> {
    let server = HttpServer::new(move || metrics_app(metrics.clone(), db.clone(), clock.clone()))
        .workers(1)
        .bind(bind)
        .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {bind}: {e}"))?;
    let address = server.addrs().first().copied().unwrap_or(bind);
    Ok((server.run(), address))
}
