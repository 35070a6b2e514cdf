//! The HS256 token codec: issuing an access token, and decoding (verifying) one, with the
//! server's default lifetimes.
//!
//! `cargo bench -p security --bench token_codec`.

use std::hint::black_box;
use std::time::Duration;

use application::ports::TokenCodec;
use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use domain::{TokenType, UserId};
use security::JwtCodec;

fn token_codec(c: &mut Criterion) {
    let codec = JwtCodec::new(
        b"a-benchmark-secret-key-that-is-long-enough-for-hs256",
        Duration::from_secs(3600),
        Duration::from_secs(86400),
    );
    let now = Utc::now();
    let user = UserId::new(42);
    let access = codec
        .issue(TokenType::Access, user, None, now)
        .expect("issuing works")
        .token;

    let mut group = c.benchmark_group("jwt_hs256");
    group.bench_function("issue_access", |b| {
        b.iter(|| {
            codec
                .issue(TokenType::Access, black_box(user), None, black_box(now))
                .expect("issuing works")
        });
    });
    group.bench_function("decode_access", |b| {
        b.iter(|| {
            codec
                .decode(black_box(&access), TokenType::Access, black_box(now))
                .expect("a valid token")
        });
    });
    group.bench_function("decode_access_wrong_type", |b| {
        b.iter(|| codec.decode(black_box(&access), TokenType::Refresh, black_box(now)));
    });
    group.finish();
}

criterion_group!(benches, token_codec);
criterion_main!(benches);
