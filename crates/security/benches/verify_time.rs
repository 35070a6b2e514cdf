//! The time of one argon2id password verify on this machine, for `bench/run.sh`'s hash ceiling
//! (cores ÷ this time). Not a criterion benchmark: it prints one machine-readable line.
//!
//! ```sh
//! BENCH_ARGON2_MEMORY_KIB=19456 BENCH_ARGON2_ITERATIONS=2 BENCH_ARGON2_PARALLELISM=1 \
//!     cargo bench -p security --bench verify_time
//! ```
//!
//! It calls the `argon2` crate directly, exactly as the server's hasher verifies a PHC string, but
//! without the server around it (no HTTP, database, queueing or worker hand-off), so the time is
//! that of the computation itself: an ideal the server can be measured against.
//!
//! 1. Sequential: after two warm-up verifies, verifies one at a time for `BENCH_VERIFY_SECONDS`
//!    (default 2) and at least 10 times; prints the median and the mean.
//! 2. Reused memory (a check, not part of the ceiling): the same computation through
//!    `hash_password_into_with_memory` with one buffer allocated once, then a comparison of the
//!    output, for the same time; prints its median. The difference from 1. is what allocating
//!    (and page-faulting) the 19 MiB on every call costs.
//! 3. Parallel (a check, not part of the ceiling): `BENCH_VERIFY_THREADS` threads (default: the
//!    available parallelism) verify in a loop for the same time; prints their total rate, which
//!    equals threads ÷ median only if parallel verifies do not slow each other down (shared
//!    memory bandwidth and caches, other processes).
//!
//! Output: `VERIFY_RESULT memory_kib=… iterations=… parallelism=… samples=… median_us=… mean_us=…
//! min_us=… reused_median_us=… threads=… parallel_verifies=… parallel_per_s=…`

use std::env;
use std::io::{self, Write as _};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use argon2::password_hash::phc;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHasher as _, PasswordVerifier as _, Version,
};

fn setting(name: &str, default: u64) -> u64 {
    match env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

fn as_u32(name: &str, value: u64) -> u32 {
    u32::try_from(value).unwrap_or_else(|_| panic!("{name} is too large"))
}

fn main() -> io::Result<()> {
    let memory_kib = as_u32("memory", setting("BENCH_ARGON2_MEMORY_KIB", 19_456));
    let iterations = as_u32("iterations", setting("BENCH_ARGON2_ITERATIONS", 2));
    let parallelism = as_u32("parallelism", setting("BENCH_ARGON2_PARALLELISM", 1));
    let seconds = setting("BENCH_VERIFY_SECONDS", 2).max(1);
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let threads = usize::try_from(setting("BENCH_VERIFY_THREADS", cores as u64))
        .unwrap_or(cores)
        .max(1);

    let params = Params::new(memory_kib, iterations, parallelism, None).expect("valid parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"correct-horse-battery-9";
    let encoded = argon2
        .hash_password(password)
        .expect("hashing works")
        .to_string();
    let verify = |argon2: &Argon2<'_>| {
        let parsed = phc::PasswordHash::new(&encoded).expect("a PHC string");
        argon2
            .verify_password(password, &parsed)
            .expect("the password matches");
    };

    // Sequential.
    verify(&argon2);
    verify(&argon2);
    let budget = Duration::from_secs(seconds);
    let started = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < 10 || (started.elapsed() < budget && samples.len() < 10_000) {
        let t = Instant::now();
        verify(&argon2);
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let min = samples[0];
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(u32::MAX);

    // Reused memory: one buffer for every call, the output compared as a verify would.
    let salt = b"verify-time-salt";
    let mut expected = [0u8; 32];
    argon2
        .hash_password_into(password, salt, &mut expected)
        .expect("hashing works");
    let mut blocks = vec![Block::default(); params_block_count(&argon2)];
    let mut reused = Vec::new();
    let started = Instant::now();
    while reused.len() < 10 || (started.elapsed() < budget && reused.len() < 10_000) {
        let t = Instant::now();
        let mut out = [0u8; 32];
        argon2
            .hash_password_into_with_memory(password, salt, &mut out, &mut blocks)
            .expect("hashing works");
        assert!(out == expected, "the same input gives the same output");
        reused.push(t.elapsed());
    }
    reused.sort();
    let reused_median = reused[reused.len() / 2];

    // Parallel: every thread starts together and verifies until the budget is spent.
    let barrier = Arc::new(Barrier::new(threads));
    let started = Instant::now();
    let counts: Vec<u64> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let argon2 = argon2.clone();
                let verify = &verify;
                scope.spawn(move || {
                    barrier.wait();
                    let begin = Instant::now();
                    let mut done = 0u64;
                    while begin.elapsed() < budget && done < 100_000 {
                        verify(&argon2);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a verifying thread"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let parallel: u64 = counts.iter().sum();

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "VERIFY_RESULT memory_kib={memory_kib} iterations={iterations} parallelism={parallelism} \
         samples={} median_us={} mean_us={} min_us={} reused_median_us={} threads={threads} \
         parallel_verifies={parallel} parallel_per_s={:.1}",
        samples.len(),
        median.as_micros(),
        mean.as_micros(),
        min.as_micros(),
        reused_median.as_micros(),
        parallel as f64 / elapsed,
    )
}

fn params_block_count(argon2: &Argon2<'_>) -> usize {
    argon2.params().block_count()
}
