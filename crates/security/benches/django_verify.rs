//! The time of one verification of each Django hash this service reads, at Django 5.2's default
//! costs, through the server's own hasher (its worker threads included). Not a criterion
//! benchmark: it prints one line per hasher, for the README's note on the timing of accounts
//! imported from Django until their first login.
//!
//! ```sh
//! cargo bench -p security --bench django_verify
//! ```
//!
//! The vectors are the ones `src/hasher.rs` tests with, made by Django 5.2's `make_password`
//! ("some pässword", or "secret-pass" for the two older ones) and, for the removed legacy
//! hashers, by hashlib.

use std::io::{self, Write as _};
use std::time::{Duration, Instant};

use application::ports::{PasswordHasher as _, Verification};
use domain::{Password, PasswordHash};
use security::{Argon2Hasher, Argon2Params};

const PASSWORD: &str = "some pässword";

const CASES: [(&str, &str, &str); 9] = [
    (
        "django argon2 (100 MiB t=2 p=8)",
        "secret-pass",
        "argon2$argon2id$v=19$m=102400,t=2,p=8$YWxnNmNVM1cycU5BSFlNYVVtSEZ2NA$epybn4Sl7vxld7VgpBMvVdVvgxF/qUUSHg2ARWOttpo",
    ),
    (
        "pbkdf2_sha256 (1,000,000)",
        "secret-pass",
        "pbkdf2_sha256$1000000$PPMO8W2sJjeHsCVNMpEUSA$ZH29j5b7Vud8tEAeDYpGFaDqXoJG7788gq96fzIyH+U=",
    ),
    (
        "pbkdf2_sha1 (1,000,000)",
        PASSWORD,
        "pbkdf2_sha1$1000000$EDcq3pkCWWFKFgxR6MazsR$tUf5xWoZPAj4MMvF0FBjGGy4mcE=",
    ),
    (
        "bcrypt_sha256 (cost 12)",
        PASSWORD,
        "bcrypt_sha256$$2b$12$vNi3mhn85QwpjSk3ihwBR.Loo956ulmfTnlKNcEa3zTotzGTQyL5y",
    ),
    (
        "bcrypt (cost 12)",
        PASSWORD,
        "bcrypt$$2b$12$KXXuWoJ.Lr4gdFhtGcwVzey/yFnOJ4nQZAZEyVSlfvtAsXsEBqStW",
    ),
    (
        "scrypt (n=2^14 r=8 p=5)",
        PASSWORD,
        "scrypt$16384$14lenhItkD52c6f2Dmm2fT$8$5$VILYiMJCOFN1ShfnHopR+ST17MztmziNfWj6kMu8PKnwAFPikacJVb+BU5Qae6HNRoWubWlNNC9Wmc3RPdUOPw==",
    ),
    (
        "md5 (salted)",
        PASSWORD,
        "md5$yS60u5qTUytZxtlJQyhyAy$d2fa8651b5a38161416f79ec1701049d",
    ),
    (
        "sha1 (salted, legacy)",
        PASSWORD,
        "sha1$Zq3xYhX1mPa2Lk9w$30aed06f3823f5e2a8d446879d8d3f2e3e7af883",
    ),
    (
        "unsalted md5 (legacy)",
        PASSWORD,
        "42a8b3c8a575d6a9256f6b7a82966f69",
    ),
];

fn median_of_5(hasher: &Argon2Hasher, password: &str, stored: &PasswordHash) -> Duration {
    let password = Password::new(password.to_owned()).expect("not blank");
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let outcome = hasher.verify(&password, stored);
            let took = started.elapsed();
            assert!(
                matches!(outcome, Verification::Match { .. }),
                "the vector must match"
            );
            took
        })
        .collect();
    times.sort();
    times[2]
}

fn main() -> io::Result<()> {
    let hasher = Argon2Hasher::new(Argon2Params::default(), 1).expect("the default parameters");
    let ours = hasher
        .hash(&Password::new(PASSWORD.to_owned()).expect("not blank"))
        .expect("hashes");
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "VERIFY_TIME argon2id (ours, 19 MiB t=2 p=1): median {:?} of 5",
        median_of_5(&hasher, PASSWORD, &ours)
    )?;
    for (name, password, stored) in CASES {
        let stored = PasswordHash::new(stored.to_owned());
        writeln!(
            out,
            "VERIFY_TIME {name}: median {:?} of 5",
            median_of_5(&hasher, password, &stored)
        )?;
    }
    Ok(())
}
