//! A blocking counting semaphore.
//!
//! Hashing runs on blocking threads (`web::block`), so waiting on a condition variable is the
//! right tool: no async runtime is involved and a waiting caller costs no CPU.

use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// At most `capacity` holders of a [`Permit`] at a time; further callers of
/// [`Semaphore::acquire`] block until a permit is dropped.
pub(crate) struct Semaphore {
    available: Mutex<usize>,
    freed: Condvar,
    capacity: usize,
}

impl Semaphore {
    /// `capacity` must be at least 1, or every `acquire` blocks forever.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            available: Mutex::new(capacity),
            freed: Condvar::new(),
            capacity,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Blocks until a permit is free and takes it; the permit returns when dropped.
    pub(crate) fn acquire(&self) -> Permit<'_> {
        let mut available = self.lock();
        while *available == 0 {
            available = self
                .freed
                .wait(available)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *available -= 1;
        Permit { semaphore: self }
    }

    // The counter is only ever changed by one statement under the lock, so a panic elsewhere
    // while it was held cannot have left it inconsistent: poisoning is safe to ignore.
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.available
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self) {
        *self.lock() += 1;
        self.freed.notify_one();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("capacity", &self.capacity)
            .field("available", &*self.lock())
            .finish()
    }
}

/// A taken slot of a [`Semaphore`], given back on drop (also when unwinding).
#[must_use = "the permit is released as soon as it is dropped"]
pub(crate) struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Permit")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// Runs `threads` threads that each hold a permit for a moment `rounds` times, and returns
    /// the largest number of holders seen at once.
    fn peak_holders(capacity: usize, threads: usize, rounds: usize) -> usize {
        let semaphore = Arc::new(Semaphore::new(capacity));
        let holding = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (semaphore, holding, peak, start) = (
                    Arc::clone(&semaphore),
                    Arc::clone(&holding),
                    Arc::clone(&peak),
                    Arc::clone(&start),
                );
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..rounds {
                        let _permit = semaphore.acquire();
                        let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(2));
                        holding.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("worker thread panicked");
        }
        peak.load(Ordering::SeqCst)
    }

    #[test]
    fn one_permit_lets_only_one_thread_in_at_a_time() {
        assert_eq!(peak_holders(1, 4, 10), 1);
    }

    #[test]
    fn no_more_threads_than_permits_are_ever_in_at_once() {
        let peak = peak_holders(2, 6, 10);
        assert!((1..=2).contains(&peak), "peak was {peak}");
    }

    #[test]
    fn a_dropped_permit_is_given_back() {
        let semaphore = Semaphore::new(1);
        drop(semaphore.acquire());
        drop(semaphore.acquire());
        assert_eq!(*semaphore.lock(), 1);
    }

    #[test]
    fn a_permit_is_given_back_when_its_holder_panics() {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = Arc::clone(&semaphore);
        let outcome = thread::spawn(move || {
            let _permit = held.acquire();
            panic!("the holder fails");
        })
        .join();
        assert!(outcome.is_err());
        drop(semaphore.acquire());
    }
}
