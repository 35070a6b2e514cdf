//! Blocking work (database, hashing) runs on the blocking thread pool, never on an actix worker,
//! and inside the request's span, so every line a use case logs carries the request id.

use actix_web::web;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};

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
/// blocking threads every other request needs. At most `max_waiting` wait: the next is refused at
/// once, so a flood cannot grow the queue (and every real user's wait) without bound.
pub(crate) struct HashSlots {
    turns: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl HashSlots {
    pub fn new(turns: usize, max_waiting: usize) -> Self {
        Self {
            turns: Semaphore::new(turns.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Takes a free turn, or waits for one, without holding a thread.
    ///
    /// # Errors
    /// [`ApiError::Overloaded`] when `max_waiting` requests already wait.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match self.turns.try_acquire() {
            Ok(permit) => return Ok(permit),
            Err(TryAcquireError::Closed) => return Err(ApiError::internal("hash turns closed")),
            Err(TryAcquireError::NoPermits) => {}
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Overloaded);
        }
        metrics::gauge!(crate::metrics::HASH_QUEUE).increment(1.0);
        // Counted out however the wait ends, also when the client goes away meanwhile.
        let _waiter = Waiter(&self.waiting);
        self.turns.acquire().await.map_err(ApiError::internal)
    }
}

struct Waiter<'a>(&'a AtomicUsize);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!(crate::metrics::HASH_QUEUE).decrement(1.0);
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

    #[actix_web::test]
    async fn beyond_the_turns_and_the_queue_a_request_is_refused_at_once() {
        let slots = std::sync::Arc::new(HashSlots::new(1, 1));
        let held = slots.acquire().await.expect("a free turn");
        let waiting = actix_web::rt::spawn({
            let slots = slots.clone();
            async move { slots.acquire().await.map(drop).is_ok() }
        });
        while slots.waiting.load(Ordering::Acquire) == 0 {
            actix_web::rt::task::yield_now().await;
        }
        assert!(matches!(slots.acquire().await, Err(ApiError::Overloaded)));
        drop(held);
        assert!(
            waiting.await.expect("joined"),
            "the queued request gets its turn"
        );
        assert_eq!(slots.waiting.load(Ordering::Acquire), 0);
        assert!(slots.acquire().await.is_ok());
    }

    #[actix_web::test]
    async fn with_no_queue_only_the_turns_are_served() {
        let slots = HashSlots::new(2, 0);
        let _first = slots.acquire().await.expect("a free turn");
        let _second = slots.acquire().await.expect("a free turn");
        assert!(matches!(slots.acquire().await, Err(ApiError::Overloaded)));
    }

    #[actix_web::test]
    async fn a_request_that_gives_up_waiting_leaves_the_queue() {
        let slots = HashSlots::new(1, 1);
        let _held = slots.acquire().await.expect("a free turn");
        let gave_up =
            actix_web::rt::time::timeout(std::time::Duration::from_millis(10), slots.acquire())
                .await;
        assert!(gave_up.is_err());
        assert_eq!(slots.waiting.load(Ordering::Acquire), 0);
    }
}
