//! Blocking work runs off the actix workers, inside the request's span, so every line a use case
//! logs carries the request id. Database work runs on the blocking pool; the use cases that hash
//! a password run on threads of their own, one per turn at a hash, so a login flood cannot hold
//! the threads the database work needs, and those can be as few as the database does best with.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::{io, thread};

use actix_web::web;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

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

/// Turns at the use cases that hash a password (login, registration, password change and
/// reset, deletion). Each costs a hash; the requests beyond the turns wait here without holding a
/// thread, so a login flood cannot take the blocking threads every other request needs. At most
/// `max_waiting` wait: the next is refused at once, so a flood cannot grow the queue (and every
/// real user's wait) without bound.
pub(crate) struct HashSlots {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    threads: Sender<Job>,
}

/// A use case that hashes, with its turn: the turn ends when the use case has run, also when
/// the client went away meanwhile, so the turns bound the work the threads have.
type Job = Box<dyn FnOnce() + Send>;

impl HashSlots {
    /// `turns` turns, and as many threads to run their use cases on.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn new(turns: usize, max_waiting: usize) -> io::Result<Self> {
        let turns = turns.max(1);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..turns {
            let receiver = receiver.clone();
            thread::Builder::new()
                .name(format!("hashing-request-{n}"))
                .spawn(move || serve(&receiver))?;
        }
        Ok(Self {
            turns: Arc::new(Semaphore::new(turns)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            threads: sender,
        })
    }

    /// Takes a free turn, or waits for one, without holding a thread.
    ///
    /// # Errors
    /// [`ApiError::Overloaded`] when `max_waiting` requests already wait.
    pub async fn acquire(&self) -> Result<HashTurn<'_>, ApiError> {
        let permit = match self.turns.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(ApiError::internal("hash turns closed")),
            Err(TryAcquireError::NoPermits) => self.wait().await?,
        };
        Ok(HashTurn {
            permit,
            slots: self,
        })
    }

    async fn wait(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Overloaded);
        }
        metrics::gauge!(crate::metrics::HASH_QUEUE).increment(1.0);
        // Counted out however the wait ends, also when the client goes away meanwhile.
        let _waiter = Waiter(&self.waiting);
        self.turns
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)
    }
}

/// A turn at a hash: its use case runs on one of the turns' threads.
pub(crate) struct HashTurn<'a> {
    permit: OwnedSemaphorePermit,
    slots: &'a HashSlots,
}

impl HashTurn<'_> {
    /// Runs `work` on a hashing thread within the current tracing span; the turn ends with it.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let permit = self.permit;
        let job: Job = Box::new(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| span.in_scope(work)));
            drop(permit);
            // The client may have gone away; its answer is dropped with the receiver.
            let _ = done.send(outcome);
        });
        self.slots
            .threads
            .send(job)
            .map_err(|_| ApiError::internal("the hashing threads stopped"))?;
        match result.await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_panic)) => Err(ApiError::internal(
                "a use case panicked on a hashing thread",
            )),
            Err(_) => Err(ApiError::internal("a hashing thread stopped")),
        }
    }
}

/// A hashing thread: runs the jobs it is given until the server that sends them is gone.
fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
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
        let slots = Arc::new(HashSlots::new(1, 1).expect("threads"));
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
        let slots = HashSlots::new(2, 0).expect("threads");
        let _first = slots.acquire().await.expect("a free turn");
        let _second = slots.acquire().await.expect("a free turn");
        assert!(matches!(slots.acquire().await, Err(ApiError::Overloaded)));
    }

    #[actix_web::test]
    async fn a_request_that_gives_up_waiting_leaves_the_queue() {
        let slots = HashSlots::new(1, 1).expect("threads");
        let _held = slots.acquire().await.expect("a free turn");
        let gave_up =
            actix_web::rt::time::timeout(std::time::Duration::from_millis(10), slots.acquire())
                .await;
        assert!(gave_up.is_err());
        assert_eq!(slots.waiting.load(Ordering::Acquire), 0);
    }

    #[actix_web::test]
    async fn a_turns_work_runs_on_a_hashing_thread_inside_the_callers_span() {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let slots = HashSlots::new(1, 0).expect("threads");
        let turn = slots.acquire().await.expect("a free turn");
        let (thread, span) = turn
            .run(|| {
                let span = tracing::Span::current().metadata().map(|m| m.name());
                Ok((thread::current().name().map(str::to_owned), span))
            })
            .instrument(tracing::info_span!("request"))
            .await
            .expect("ran");
        assert_eq!(thread.as_deref(), Some("hashing-request-0"));
        assert_eq!(span, Some("request"));
    }

    #[actix_web::test]
    async fn a_turn_ends_when_its_work_has_run_even_if_the_client_went_away() {
        let slots = HashSlots::new(1, 1).expect("threads");
        let (release, released) = mpsc::channel::<()>();
        let turn = slots.acquire().await.expect("a free turn");
        let work = turn.run(move || {
            released.recv().ok();
            Ok(())
        });
        // The client goes away while the work runs: the future is dropped, the work is not.
        let gone = actix_web::rt::time::timeout(std::time::Duration::from_millis(20), work).await;
        assert!(gone.is_err());
        assert_eq!(
            slots.turns.available_permits(),
            0,
            "the work still holds its turn"
        );
        release.send(()).expect("the work waits");
        let next = slots.acquire().await.expect("the turn came back");
        assert_eq!(next.run(|| Ok(7)).await.expect("ran"), 7);
    }

    #[actix_web::test]
    async fn a_panicking_use_case_is_an_internal_error_and_the_thread_serves_on() {
        let slots = HashSlots::new(1, 0).expect("threads");
        let turn = slots.acquire().await.expect("a free turn");
        let panicked = turn
            .run(|| -> Result<(), ApiError> { panic!("boom") })
            .await;
        assert!(
            matches!(panicked, Err(ApiError::Internal(_))),
            "{panicked:?}"
        );
        let turn = slots.acquire().await.expect("the turn came back");
        assert_eq!(turn.run(|| Ok("served")).await.expect("ran"), "served");
    }
}
