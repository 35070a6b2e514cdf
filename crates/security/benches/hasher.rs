//! The argon2id password hasher with the default (OWASP) parameters: hash, verify of a matching
//! password, verify of a wrong one, and the dummy verify of a login for an unknown user.
//!
//! `cargo bench -p security --bench hasher`. One iteration takes about 20 ms, so the sample size
//! is criterion's minimum and the whole file runs in well under a minute.

use std::hint::black_box;
use std::time::Duration;

use application::ports::PasswordHasher;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::Password;
use security::{Argon2Hasher, Argon2Params};

fn password(raw: &str) -> Password {
    Password::new(raw.to_owned()).expect("a non-blank password")
}

fn hasher(c: &mut Criterion) {
    // One slot: the benchmark runs one computation at a time, as a single login does.
    let hasher = Argon2Hasher::new(Argon2Params::default(), 1).expect("default parameters");
    let right = password("correct-horse-battery-9");
    let wrong = password("incorrect-horse-battery-9");
    let stored = hasher.hash(&right).expect("hashing works");

    let mut group = c.benchmark_group("argon2id_default");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("hash", |b| {
        b.iter(|| hasher.hash(black_box(&right)).expect("hashing works"));
    });
    group.bench_function("verify_match", |b| {
        b.iter(|| hasher.verify(black_box(&right), black_box(&stored)));
    });
    group.bench_function("verify_mismatch", |b| {
        b.iter(|| hasher.verify(black_box(&wrong), black_box(&stored)));
    });
    group.bench_function("verify_dummy", |b| {
        b.iter(|| hasher.verify_dummy(black_box(&right)));
    });
    group.finish();
}

criterion_group!(benches, hasher);
criterion_main!(benches);
