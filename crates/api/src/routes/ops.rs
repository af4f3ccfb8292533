//! Liveness, readiness and metrics: unauthenticated, outside `/v1`, for orchestrators.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::metrics::DependencyState;
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
    /// Always `ready`, also while an optional dependency is `degraded`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each dependency and its state: `ok`; `degraded` (Redis does not answer: the instance
    /// serves with rate limits counted per instance and real-time pushes delivered within the
    /// instance until it answers again); `down` (the database: not ready); or `not_configured`.
    #[schema(example = json!({"database": "ok", "redis": "degraded"}))]
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
/// Unauthenticated. Checks the database, and Redis when configured, each within 2 seconds. 200 when the database
/// answers, with each check's state in `checks`: Redis not answering is `degraded`, not a reason to take the instance
/// out of service (rate limits then count per instance, real-time pushes reach the instance's own streams, and both
/// return to Redis when it answers). 503 `not_ready`, with `checks`, when the database does not answer.
#[utoipa::path(
    tag = "ops",
    security(()),
    responses(
        (status = 200, description = "The database answers; `checks.redis` is `degraded` while Redis does not", body = Readiness),
        (status = 503, description = "The database is down", body = Problem, content_type = "application/problem+json")
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
            // The ping also tells the adapters on this Redis whether it answers.
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
    let redis_state = match redis {
        Ok(None) => "not_configured",
        Ok(Some(Ok(()))) => "ok",
        // Logged once per outage by the adapters' shared health.
        Ok(Some(Err(_))) | Err(_) => "degraded",
    };
    checks.insert("redis", redis_state);

    if database_ok {
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
/// `GUILD_METRICS_ADDR`). Request counts and latencies by route pattern and status, the database pool's state, and
/// whether Redis is degraded (`guild_dependency_degraded`, `guild_dependency_degradations_total`), in the OpenMetrics
/// text format.
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
    let dependencies: Vec<DependencyState> = state
        .redis
        .iter()
        .map(|redis| DependencyState {
            name: "redis",
            degraded: redis.is_degraded(),
            degradations: redis.degradations(),
        })
        .collect();
    let body = state.metrics.render(&state.db.status(), &dependencies);
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(body)
}
