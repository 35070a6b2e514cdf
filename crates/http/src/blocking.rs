//! Blocking work (database, hashing) runs on the blocking thread pool, never on an actix worker,
//! and inside the request's span, so every line a use case logs carries the request id.

use actix_web::web;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// Runs `work` on the blocking pool within the current tracing span.
pub(crate) async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
        .await
        .map_err(|error| ApiError::internal(error.to_string()))?
}

/// Turns at the use cases that hash a password (login, registration). Each costs a hash; the
/// requests beyond the turns wait here without holding a thread, so a login flood cannot take the
/// blocking threads every other request needs.
pub(crate) struct HashSlots(Semaphore);

impl HashSlots {
    pub fn new(turns: usize) -> Self {
        Self(Semaphore::new(turns.max(1)))
    }

    /// Waits, without holding a thread, for a turn.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        self.0.acquire().await.map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use tracing::Instrument;

    use super::*;

    #[actix_web::test]
    async fn blocking_work_runs_inside_the_callers_span() {
        // The registry tracks the current span per thread, so this sees what the blocking thread
        // has entered.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let span = tracing::info_span!("request");
        let name = run(|| Ok(tracing::Span::current().metadata().map(|m| m.name())))
            .instrument(span)
            .await;
        assert_eq!(name.ok().flatten(), Some("request"));
    }
}
