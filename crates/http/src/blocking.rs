//! Blocking work runs off the actix workers, on threads that take jobs from one queue in the
//! order they came, inside the request's span, so every line a use case logs carries the request
//! id. The use cases that hash a password run on threads of their own, one per turn at a hash,
//! so a login flood cannot hold the threads the database work needs; those are shared by every
//! worker and can be as few as the database does best with.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::{io, thread};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

use crate::error::ApiError;

/// A job for the threads; it sends its own answer.
type Job = Box<dyn FnOnce() + Send>;

/// Threads that run jobs from one queue, first come first served. Cheap to clone: clones share
/// the threads, which stop once every clone is gone.
#[derive(Clone)]
struct Threads {
    jobs: Sender<Job>,
}

impl Threads {
    /// Starts `count` threads (at least one), named `<name>-<n>`.
    fn start(name: &str, count: usize) -> io::Result<Self> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..count.max(1) {
            let receiver = receiver.clone();
            thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || serve(&receiver))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on one of the threads within the current tracing span; `permit`, if any, is
    /// let go when the work is done, also when the caller went away meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<T, ApiError> {
        let (done, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| span.in_scope(work)));
            drop(permit);
            // The client may have gone away; its answer is dropped with the receiver.
            let _ = done.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the blocking threads stopped"))?;
        match answer.await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_panic)) => Err(ApiError::internal("a use case panicked")),
            Err(_) => Err(ApiError::internal("a blocking thread stopped")),
        }
    }
}

/// A thread of [`Threads`]: runs the jobs it is given until every sender is gone.
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

/// The threads that run the use cases hashing no password (database work), shared by every
/// worker: a request waits for the next free one in the order it came, whichever worker it
/// came through.
#[derive(Clone)]
pub(crate) struct Blocking(Threads);

impl Blocking {
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(count: usize) -> io::Result<Self> {
        Threads::start("blocking", count).map(Self)
    }

    /// Runs `work` on one of the threads within the current tracing span.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.0.run(work, None).await
    }
}

/// Turns at the use cases that hash a password (login, registration, password change and
/// reset, deletion). Each costs a hash; the requests beyond the turns wait here without holding a
/// thread, so a login flood cannot take the threads every other request needs. At most
/// `max_waiting` wait: the next is refused at once, so a flood cannot grow the queue (and every
/// real user's wait) without bound.
pub(crate) struct HashSlots {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    threads: Threads,
}

impl HashSlots {
    /// `turns` turns, and as many threads to run their use cases on.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn new(turns: usize, max_waiting: usize) -> io::Result<Self> {
        let turns = turns.max(1);
        Ok(Self {
            turns: Arc::new(Semaphore::new(turns)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            threads: Threads::start("hashing-request", turns)?,
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
            threads: &self.threads,
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

/// A turn at a hash: its use case runs on one of the turns' threads, and the turn ends when
/// the use case has run, also when the client went away meanwhile, so the turns bound the work
/// those threads have.
pub(crate) struct HashTurn<'a> {
    permit: OwnedSemaphorePermit,
    threads: &'a Threads,
}

impl HashTurn<'_> {
    /// Runs `work` on a hashing thread within the current tracing span; the turn ends with it.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.threads.run(work, Some(self.permit)).await
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
    async fn database_work_runs_on_a_shared_thread_inside_the_callers_span() {
        // The registry tracks the current span per thread, so this sees what the blocking thread
        // has entered.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let span = tracing::info_span!("request");
        let blocking = Blocking::start(1).expect("threads");
        let name = blocking
            .run(|| {
                let span = tracing::Span::current().metadata().map(|m| m.name());
                Ok((thread::current().name().map(str::to_owned), span))
            })
            .instrument(span)
            .await
            .expect("ran");
        assert_eq!(name, (Some("blocking-0".to_owned()), Some("request")));
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

    #[actix_web::test]
    async fn work_beyond_the_threads_waits_and_runs_in_the_order_it_came() {
        let blocking = Blocking::start(1).expect("threads");
        let (release, released) = mpsc::channel::<()>();
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = actix_web::rt::spawn({
            let (blocking, order) = (blocking.clone(), order.clone());
            async move {
                blocking
                    .run(move || {
                        released.recv().ok();
                        order.lock().expect("not poisoned").push(0);
                        Ok(())
                    })
                    .await
            }
        });
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut queued = Vec::new();
        for n in 1..=3 {
            let (blocking, order) = (blocking.clone(), order.clone());
            queued.push(actix_web::rt::spawn(async move {
                blocking
                    .run(move || {
                        order.lock().expect("not poisoned").push(n);
                        Ok(())
                    })
                    .await
            }));
            // Each is queued before the next comes.
            actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            order.lock().expect("not poisoned").is_empty(),
            "the thread is busy"
        );
        release.send(()).expect("the first waits");
        first.await.expect("joined").expect("ran");
        for job in queued {
            job.await.expect("joined").expect("ran");
        }
        assert_eq!(*order.lock().expect("not poisoned"), [0, 1, 2, 3]);
    }
}
