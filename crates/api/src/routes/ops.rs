//! Liveness, readiness and metrics: unauthenticated, outside `/v1`, for orchestrators.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is alive.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The instance can serve traffic.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each dependency and its state: `ok`, `down` or `not_configured`.
    #[schema(example = json!({"database": "ok", "redis": "not_configured"}))]
    pub checks: BTreeMap<&'static str, &'static str>,
}

/// Get liveness: the liveness probe.
///
/// Unauthenticated. Answers 200 as long as the process runs; it checks no dependency, so a database outage never
/// gets healthy instances restarted.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses((status = 200, description = "The process is alive", body = Liveness))
)]
#[get("/livez")]
pub(crate) async fn get_liveness() -> web::Json<Liveness> {
    web::Json(Liveness { status: "ok" })
}

/// Get readiness: the readiness probe.
///
/// Unauthenticated. Checks the database, and Redis when configured, each within 2 seconds. 200 when all answer;
/// otherwise 503 `not_ready` with the state of each check in `checks`.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "A dependency is down", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/readyz")]
pub(crate) async fn get_readiness(
    state: web::Data<AppState>,
) -> Result<web::Json<Readiness>, ApiError> {
    let database = guild_db::ping(&state.db);
    let redis = async {
        match &state.redis {
            None => None,
            Some(redis) => Some(redis.ping().await),
        }
    };
    let (database, redis) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, database),
        tokio::time::timeout(CHECK_TIMEOUT, redis)
    );

    let mut checks = BTreeMap::new();
    let database_ok = match database {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: database check timed out");
            false
        }
    };
    checks.insert("database", if database_ok { "ok" } else { "down" });
    let redis_ok = match redis {
        Ok(None) => {
            checks.insert("redis", "not_configured");
            true
        }
        Ok(Some(Ok(()))) => {
            checks.insert("redis", "ok");
            true
        }
        Ok(Some(Err(e))) => {
            tracing::warn!(error = %e, "readiness: redis check failed");
            checks.insert("redis", "down");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: redis check timed out");
            checks.insert("redis", "down");
            false
        }
    };

    if database_ok && redis_ok {
        Ok(web::Json(Readiness {
            status: "ready",
            checks,
        }))
    } else {
        Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready")
            .extension("checks", serde_json::to_value(&checks).unwrap_or_default()))
    }
}

/// Get the Prometheus metrics.
///
/// Unauthenticated (keep `/metrics` off the public network, or serve it on
/// `GUILD_METRICS_ADDR`). Request counts and latencies by route pattern and status, and the database pool's state, in the
/// OpenMetrics text format.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses((status = 200, description = "Metrics in the OpenMetrics text format", body = String,
        content_type = "application/openmetrics-text"),
        (status = 404, description = "`not_found`: `GUILD_METRICS_ADDR` serves them elsewhere", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[get("/metrics")]
pub(crate) async fn get_metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.http.metrics_public {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found")
            .detail("metrics are served on another address"));
    }
    Ok(render_metrics(state).await)
}

/// The Prometheus exposition, wherever it is served.
pub async fn render_metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(&state.db.status());
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body)
}
