//! The argon2id password hasher with the default (OWASP) parameters: hash, verify of a matching
//! password, verify of a wrong one, the dummy verify of a login for an unknown user, and what a
//! login does with an unusable stored hash (verify, then the dummy verify). The last four should
//! take the same time.
//!
//! `cargo bench -p security --bench hasher`. One iteration takes about 20 ms, so the sample size
//! is criterion's minimum and the whole file runs in well under a minute.

use std::hint::black_box;
use std::time::Duration;

use application::ports::{PasswordHasher, Verification};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::{Password, PasswordHash};
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
    // Django's `set_unusable_password` marker.
    let unusable = PasswordHash::new("!Xb3kq9ZpW2yLmN4vR8tD1sF6gH0jK5aQ7eC2uI9o".to_owned());
    group.bench_function("verify_unusable_then_dummy", |b| {
        b.iter(|| {
            let outcome = hasher.verify(black_box(&wrong), black_box(&unusable));
            assert_eq!(outcome, Verification::Unusable);
            hasher.verify_dummy(black_box(&wrong));
        });
    });
    group.finish();
}

criterion_group!(benches, hasher);
criterion_main!(benches);
