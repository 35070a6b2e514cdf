//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use application::ports::HealthProbe;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Access, Caching, Endpoint, endpoint, operation};
use crate::blocking::Blocking;
use crate::error::ApiError;
use crate::openapi::schemas::Unavailable;

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(
            Access::Open,
            Caching::Allowed,
            vec![operation(__path_health, health)],
        ),
        endpoint(
            Access::Open,
            Caching::Allowed,
            vec![operation(__path_ready, ready)],
        ),
    ]
}

/// A probe's answer: `{"status": "ok"}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Status {
    status: ProbeStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum ProbeStatus {
    Ok,
}

const OK: Status = Status {
    status: ProbeStatus::Ok,
};

/// Liveness: the process serves requests; says nothing of the database.
#[utoipa::path(
    get,
    path = "/health",
    tag = "probes",
    responses((status = 200, description = "The process serves requests.", body = Status))
)]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(OK)
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "probes",
    responses(
        (status = 200, description = "The database answers.", body = Status),
        Unavailable,
    )
)]
async fn ready(
    probe: web::Data<dyn HealthProbe>,
    blocking: web::Data<Blocking>,
) -> Result<HttpResponse, ApiError> {
    blocking.run(move || Ok(probe.check()?)).await?;
    Ok(HttpResponse::Ok().json(OK))
}
