//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use application::ports::HealthProbe;
use serde_json::json;

use super::{Access, Caching, PROBE_METHODS, endpoint};
use crate::blocking::run;
use crate::error::ApiError;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint(
        "/health",
        PROBE_METHODS,
        Access::Open,
        Caching::Allowed,
        |r| r.route(web::get().to(health)).route(web::head().to(health)),
    ))
    .service(endpoint(
        "/ready",
        PROBE_METHODS,
        Access::Open,
        Caching::Allowed,
        |r| r.route(web::get().to(ready)).route(web::head().to(ready)),
    ));
}

/// The process serves requests; says nothing of the database.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers too.
async fn ready(probe: web::Data<dyn HealthProbe>) -> Result<HttpResponse, ApiError> {
    run(move || Ok(probe.check()?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok" })))
}
