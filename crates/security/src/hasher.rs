//! The argon2id adapter for the [`PasswordHasher`] port.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;

use application::ports::{HashError, PasswordHasher, Verification};
use argon2::password_hash::phc;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use domain::{Password, PasswordHash};
use thiserror::Error;
use uuid::Uuid;

use crate::django::{self, Format};

/// Hashes and verifications handed to the workers and not yet started (a gauge).
pub const HASH_PENDING: &str = "auth_password_hash_pending";
/// The time a worker spent on one hash or verification, in seconds (a histogram).
pub const HASH_SECONDS: &str = "auth_password_hash_duration_seconds";

/// The argon2id cost parameters new hashes are made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory (argon2's `t`).
    pub iterations: u32,
    /// Lanes (argon2's `p`).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why an [`Argon2Hasher`] could not be built.
#[derive(Debug, Error)]
pub enum HasherConfigError {
    /// `max_concurrent` was 0: no hash could ever run.
    #[error("max_concurrent must be at least 1")]
    NoConcurrency,
    /// argon2 refuses the cost parameters.
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(argon2::Error),
    /// The dummy hash for unknown-user logins could not be computed (no randomness for a salt).
    #[error("hashing the dummy password failed: {0}")]
    DummyHash(argon2::password_hash::Error),
    /// No worker thread could be started.
    #[error("no password hashing worker thread could be started")]
    NoWorker,
}

/// Hashes passwords with argon2id (version 0x13) into PHC strings, and verifies those as well as
/// every hash Django stores or once stored (see the `django` module).
///
/// Every hash and verification runs on one of `max_concurrent` worker threads; callers block until
/// theirs is done. So a flood of logins queues instead of claiming `memory_kib` each, and each
/// worker computes in memory it allocated once: were argon2's memory allocated per call on
/// whichever thread called, the allocator would keep a copy per thread (gigabytes under load)
/// and every hash would fault its pages in anew.
pub struct Argon2Hasher {
    inner: Arc<Inner>,
    dummy: PasswordHash,
    workers: Workers,
}

/// What a worker needs to hash and verify.
struct Inner {
    params: Argon2Params,
    argon2: Argon2<'static>,
    #[cfg(test)]
    gauge: tests::Gauge,
}

/// A worker's argon2 memory: sized at its first job and reused by every later one.
type Memory = Vec<Block>;

type Job = Box<dyn FnOnce(&Inner, &mut Memory) + Send>;

/// A fixed set of threads taking jobs from one queue.
struct Workers {
    queue: Mutex<mpsc::Sender<Job>>,
    count: usize,
}

impl Workers {
    /// Starts up to `count` workers; returns `None` when not one could be started.
    fn start(inner: &Arc<Inner>, count: usize) -> Option<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for index in 0..count {
            let inner = Arc::clone(inner);
            let receiver = Arc::clone(&receiver);
            let spawned = thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        // The lock is held only to take one job, never while running it.
                        let job = receiver
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        let Ok(job) = job else { return };
                        // A job that panics must not take the worker with it; its caller sees
                        // the dropped reply.
                        let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&inner, &mut memory)));
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                // Fewer workers only means less concurrency.
                Err(error) => eprintln!("could not start an argon2 worker thread: {error}"),
            }
        }
        (started > 0).then(|| Self {
            queue: Mutex::new(sender),
            count: started,
        })
    }

    /// Runs `work` on a worker and waits for its result; `None` if it could not run.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner, &mut Memory) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |inner, memory| {
            metrics::gauge!(HASH_PENDING).decrement(1.0);
            #[cfg(test)]
            let inside = inner.gauge.enter();
            let started = std::time::Instant::now();
            let result = work(inner, memory);
            metrics::histogram!(HASH_SECONDS).record(started.elapsed().as_secs_f64());
            #[cfg(test)]
            drop(inside);
            let _ = reply.send(result);
        });
        metrics::gauge!(HASH_PENDING).increment(1.0);
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
        if sent.is_err() {
            metrics::gauge!(HASH_PENDING).decrement(1.0);
            return None;
        }
        result.recv().ok()
    }
}

impl Argon2Hasher {
    /// `max_concurrent`: how many hashes/verifies may run at once, each on a worker thread of its
    /// own (others wait for a free one); must be >= 1.
    ///
    /// Computes one hash with `params` for [`PasswordHasher::verify_dummy`], so this takes as
    /// long as a login.
    ///
    /// # Errors
    /// When `max_concurrent` is 0 or argon2 refuses the parameters (memory below 8 KiB per lane,
    /// no pass, no lane).
    pub fn new(params: Argon2Params, max_concurrent: usize) -> Result<Self, HasherConfigError> {
        if max_concurrent == 0 {
            return Err(HasherConfigError::NoConcurrency);
        }
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(HasherConfigError::InvalidParams)?;
        let inner = Arc::new(Inner {
            params,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params),
            #[cfg(test)]
            gauge: tests::Gauge::default(),
        });
        // A random password nobody knows, so the dummy hash matches nothing. Computed here in
        // memory freed at once: workers take theirs only when they first work, which keeps an
        // idle server small.
        let unguessable = Uuid::new_v4().simple().to_string();
        let dummy = inner
            .hash(unguessable.as_bytes(), &mut Memory::new())
            .map_err(HasherConfigError::DummyHash)?;
        let workers = Workers::start(&inner, max_concurrent).ok_or(HasherConfigError::NoWorker)?;
        Ok(Self {
            inner,
            dummy: PasswordHash::new(dummy),
            workers,
        })
    }
}

impl Inner {
    /// A new PHC string for `password`, with a fresh random salt and the configured parameters.
    fn hash(
        &self,
        password: &[u8],
        memory: &mut Memory,
    ) -> Result<String, argon2::password_hash::Error> {
        // uuid's v4 is 16 bytes from the operating system's CSPRNG (getrandom), argon2's
        // recommended salt length.
        let salt = Uuid::new_v4().into_bytes();
        let params = self.argon2.params().clone();
        let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
        #[cfg(test)]
        self.gauge.computed();
        compute(&self.argon2, &params, password, &salt, &mut out, memory)?;
        let encoded = phc::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: phc::ParamsString::try_from(&params)?,
            salt: Some(phc::Salt::new(&salt)?),
            hash: Some(phc::Output::new(&out)?),
        };
        Ok(encoded.to_string())
    }

    /// Checks `password` against an argon2 PHC string. A string that does not parse, whose
    /// parameters argon2 refuses, or which costs more than [`affordable`] allows, is `Unusable`
    /// before any hashing work.
    fn verify_phc(&self, password: &[u8], encoded: &str, memory: &mut Memory) -> Verification {
        let Some((parsed, argon2, params)) = parse_phc(encoded) else {
            return Verification::Unusable;
        };
        if !affordable(&self.params, params.m_cost(), params.t_cost()) {
            return Verification::Unusable;
        }
        let (Some(salt), Some(expected)) = (parsed.salt.as_ref(), parsed.hash.as_ref()) else {
            return Verification::Unusable;
        };
        let mut out = vec![0_u8; expected.len()];
        // argon2 checks its inputs before it starts computing, so a refusal cost nothing.
        if compute(&argon2, &params, password, salt, &mut out, memory).is_err() {
            return Verification::Unusable;
        }
        #[cfg(test)]
        self.gauge.computed();
        // `Output`'s equality is constant-time.
        if phc::Output::new(&out).is_ok_and(|out| out == *expected) {
            Verification::Match {
                needs_rehash: !self.is_current(&parsed),
            }
        } else {
            Verification::Mismatch
        }
    }

    /// Whether a hash was made exactly the way [`PasswordHasher::hash`] makes one today.
    fn is_current(&self, parsed: &phc::PasswordHash) -> bool {
        let Ok(params) = Params::try_from(parsed) else {
            return false;
        };
        parsed.algorithm.as_str() == Algorithm::Argon2id.as_str()
            && parsed.version == Some(Version::V0x13.into())
            && params.m_cost() == self.params.memory_kib
            && params.t_cost() == self.params.iterations
            && params.p_cost() == self.params.parallelism
            && params.keyid().is_empty()
            && params.data().is_empty()
            && params.output_len() == Some(Params::DEFAULT_OUTPUT_LEN)
    }

    /// Checks `password` against `stored`, in any format this hasher reads. Every Django hash
    /// needs a rehash on a match: even an argon2 one, whose `argon2$` prefix this service does
    /// not write.
    fn verify(&self, password: &[u8], stored: &str, memory: &mut Memory) -> Verification {
        match django::identify(stored) {
            Format::Phc(phc) => self.verify_phc(password, phc, memory),
            Format::DjangoArgon2(phc) => match self.verify_phc(password, phc, memory) {
                Verification::Match { .. } => Verification::Match { needs_rehash: true },
                other => other,
            },
            Format::Django(hash) => {
                #[cfg(test)]
                self.gauge.computed();
                if hash.verify(password) {
                    Verification::Match { needs_rehash: true }
                } else {
                    Verification::Mismatch
                }
            }
            Format::Unusable => Verification::Unusable,
        }
    }
}

/// The most memory a stored argon2 hash may take to check, in KiB: 1 GiB, 10 times Django
/// 5.2's `memory_cost` (102,400 KiB) and 54 times this service's default. The memory is
/// allocated for the check (a worker reuses its own only for the configured size), so with
/// `max_concurrent` slots a flood of crafted rows could claim this many times over.
const ARGON2_MAX_MEMORY_KIB: u32 = 1024 * 1024;

/// The most argon2 work a check may do, memory (KiB) times passes: 4 GiB-passes, 20 times
/// Django 5.2's m=102,400 t=2, which takes about 0.25 s optimised (`argon2` computes the lanes
/// one after another, so `p` does not divide the time): about 5 s at the cap, where the 2^32
/// KiB and passes a PHC string may name would be hours.
const ARGON2_MAX_WORK: u64 = 4 * 1024 * 1024;

/// Whether a stored argon2 hash of `memory_kib` and `passes` is cheap enough to check: within
/// the caps above, or no dearer than what `configured` makes, so the hasher's own hashes always
/// verify however high it is set.
fn affordable(configured: &Argon2Params, memory_kib: u32, passes: u32) -> bool {
    let work = |memory_kib: u32, passes: u32| u64::from(memory_kib) * u64::from(passes);
    memory_kib <= ARGON2_MAX_MEMORY_KIB.max(configured.memory_kib)
        && work(memory_kib, passes)
            <= ARGON2_MAX_WORK.max(work(configured.memory_kib, configured.iterations))
}

/// A PHC string with the argon2 instance and parameters it names; `None` when any of it is
/// unreadable. An argon2 PHC string without `v=` predates version 0x13 (the reference
/// implementation's rule).
fn parse_phc(encoded: &str) -> Option<(phc::PasswordHash, Argon2<'static>, Params)> {
    let mut parsed = phc::PasswordHash::new(encoded).ok()?;
    if parsed.version.is_none() {
        parsed.version = Some(Version::V0x10.into());
    }
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = Version::try_from(parsed.version?).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    Some((parsed, argon2, params))
}

/// argon2 into `out`, in `memory` when it has the size these parameters need (an empty one is
/// sized now); a hash with other parameters than the first one gets memory of its own.
fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Memory,
) -> Result<(), argon2::Error> {
    let needed = params.block_count();
    if memory.is_empty() {
        memory.resize(needed, Block::default());
    }
    if memory.len() == needed {
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..])
    } else {
        argon2.hash_password_into_with_memory(password, salt, out, vec![Block::default(); needed])
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let secret = password.clone();
        let hashed = self
            .workers
            .run(move |inner, memory| inner.hash(secret.expose().as_bytes(), memory))
            .ok_or_else(|| HashError("no password hashing worker is available".to_owned()))?
            .map_err(|error| HashError(error.to_string()))?;
        Ok(PasswordHash::new(hashed))
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> Verification {
        let secret = password.clone();
        let stored = hash.clone();
        // A job that could not run did no work either.
        self.workers
            .run(move |inner, memory| {
                inner.verify(secret.expose().as_bytes(), stored.as_str(), memory)
            })
            .unwrap_or(Verification::Unusable)
    }

    fn verify_dummy(&self, password: &Password) {
        let _ = self.verify(password, &self.dummy);
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.inner.params)
            .field("max_concurrent", &self.workers.count)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;

    use super::*;
    use argon2::PasswordHasher as _;

    /// Counts the jobs in progress and remembers the most seen at once, and counts the hash
    /// computations (argon2 or a Django hasher's) ever started, and those of them that ran on a
    /// thread other than a worker.
    #[derive(Debug, Default)]
    pub(super) struct Gauge {
        inside: AtomicUsize,
        peak: AtomicUsize,
        computations: AtomicUsize,
        off_worker: AtomicUsize,
    }

    impl Gauge {
        pub(super) fn computed(&self) {
            self.computations.fetch_add(1, Ordering::SeqCst);
            let on_worker = thread::current()
                .name()
                .is_some_and(|name| name.starts_with("argon2-"));
            if !on_worker {
                self.off_worker.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn computations(&self) -> usize {
            self.computations.load(Ordering::SeqCst)
        }

        fn off_worker(&self) -> usize {
            self.off_worker.load(Ordering::SeqCst)
        }

        pub(super) fn enter(&self) -> GaugeEntry<'_> {
            let inside = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(inside, Ordering::SeqCst);
            GaugeEntry(self)
        }
    }

    pub(super) struct GaugeEntry<'a>(&'a Gauge);

    impl Drop for GaugeEntry<'_> {
        fn drop(&mut self) {
            self.0.inside.fetch_sub(1, Ordering::SeqCst);
        }
    }

    const SMALL: Argon2Params = Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    // Produced with Django 5.2.19 (argon2-cffi 25.1.0):
    // make_password("secret-pass", hasher="pbkdf2_sha256")  -- Django's default, 1,000,000 rounds
    const DJANGO_PBKDF2_DEFAULT: &str =
        "pbkdf2_sha256$1000000$PPMO8W2sJjeHsCVNMpEUSA$ZH29j5b7Vud8tEAeDYpGFaDqXoJG7788gq96fzIyH+U=";
    // PBKDF2PasswordHasher().encode("secret-pass", "Zq3xYhX1mPa2Lk9w", iterations=1000)
    const DJANGO_PBKDF2_SMALL: &str =
        "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=";
    // make_password("secret-pass", hasher="argon2")  -- Django's defaults m=102400, t=2, p=8
    const DJANGO_ARGON2_DEFAULT: &str = "argon2$argon2id$v=19$m=102400,t=2,p=8$YWxnNmNVM1cycU5BSFlNYVVtSEZ2NA$epybn4Sl7vxld7VgpBMvVdVvgxF/qUUSHg2ARWOttpo";
    // Argon2PasswordHasher subclass with time_cost=1, memory_cost=1024, parallelism=1, .encode()
    const DJANGO_ARGON2_SMALL: &str = "argon2$argon2id$v=19$m=1024,t=1,p=1$Y2FScXZFV21sV0trbGhZNkZwSDVJaA$maYueVAbzd1xPtWh5K5FEVaKAQm9/Vf+is91YBHbOHk";

    // The other Django 5.2 hashers. Produced with Django 5.2.19 (bcrypt 5.0.0, argon2-cffi
    // 25.1.0) after
    //   settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers." + name for name in
    //       ("PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher", "Argon2PasswordHasher",
    //        "BCryptSHA256PasswordHasher", "BCryptPasswordHasher", "ScryptPasswordHasher",
    //        "MD5PasswordHasher")])
    //   django.setup()
    // and each checked with check_password there.
    const DJANGO_PASSWORD: &str = "some pässword";
    // make_password("some pässword", hasher="pbkdf2_sha1")  -- 1,000,000 rounds
    const DJANGO_PBKDF2_SHA1_DEFAULT: &str =
        "pbkdf2_sha1$1000000$EDcq3pkCWWFKFgxR6MazsR$tUf5xWoZPAj4MMvF0FBjGGy4mcE=";
    // make_password("some pässword", hasher="bcrypt_sha256")  -- cost 12
    const DJANGO_BCRYPT_SHA256_DEFAULT: &str =
        "bcrypt_sha256$$2b$12$vNi3mhn85QwpjSk3ihwBR.Loo956ulmfTnlKNcEa3zTotzGTQyL5y";
    // make_password("some pässword", hasher="bcrypt")  -- cost 12
    const DJANGO_BCRYPT_DEFAULT: &str =
        "bcrypt$$2b$12$KXXuWoJ.Lr4gdFhtGcwVzey/yFnOJ4nQZAZEyVSlfvtAsXsEBqStW";
    // make_password("some pässword", hasher="scrypt")  -- n=2**14, r=8, p=5
    const DJANGO_SCRYPT_DEFAULT: &str = "scrypt$16384$14lenhItkD52c6f2Dmm2fT$8$5$VILYiMJCOFN1ShfnHopR+ST17MztmziNfWj6kMu8PKnwAFPikacJVb+BU5Qae6HNRoWubWlNNC9Wmc3RPdUOPw==";
    // make_password("some pässword", hasher="md5")
    const DJANGO_MD5: &str = "md5$yS60u5qTUytZxtlJQyhyAy$d2fa8651b5a38161416f79ec1701049d";
    // PBKDF2SHA1PasswordHasher().encode("some pässword", "Zq3xYhX1mPa2Lk9w", iterations=1000)
    const DJANGO_PBKDF2_SHA1_SMALL: &str =
        "pbkdf2_sha1$1000$Zq3xYhX1mPa2Lk9w$hkjW3mrgM1t8ilurZHYDIJjxRLs=";
    // class B4(BCryptSHA256PasswordHasher): rounds = 4
    // B4().encode("some pässword", B4().salt())
    const DJANGO_BCRYPT_SHA256_SMALL: &str =
        "bcrypt_sha256$$2b$04$XnpN.1UkK5BBHGZejmQ90urn6i47eS4RXTzP0oQ9pM6qSXZBHpAHO";
    // class P4(BCryptPasswordHasher): rounds = 4
    // P4().encode("some pässword", P4().salt())
    const DJANGO_BCRYPT_SMALL: &str =
        "bcrypt$$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG";
    // P4().encode("ä" * 36, P4().salt())  -- exactly bcrypt's 72 bytes
    const DJANGO_BCRYPT_72_BYTES: &str =
        "bcrypt$$2b$04$fQ6hoAilHNRFk8btzqSUierb1cRtMLnDhsI.ZK7H4DA8RZgsgrLSC";
    // P4().encode("nul\x00byte", P4().salt())
    const DJANGO_BCRYPT_NUL: &str =
        "bcrypt$$2b$04$9bMjcNqB.Oinrlhm80oE8OvVSq.H2edg3w3gZSwLvoYuW5IUnQTeK";
    // B4().encode("ä" * 50, B4().salt())  -- 100 bytes, hashed to 64 hex digits first
    const DJANGO_BCRYPT_SHA256_100_BYTES: &str =
        "bcrypt_sha256$$2b$04$wVT5rCffEqfaRIIYOBfit.SMdj1G1I0McdcEGU95wXuQ3ofbnsADq";
    // "bcrypt$" + bcrypt.hashpw("some pässword".encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()
    // -- the `2a` prefix of rows from before pyca/bcrypt 3.1 defaulted to `2b`
    const DJANGO_BCRYPT_2A: &str =
        "bcrypt$$2a$04$OsMX.sTqcGVe8Xa0IvCLluwPTGqbLh73f55G4b/MlWo2.OnoCFcNW";
    // ScryptPasswordHasher().encode("some pässword", "Zq3xYhX1mPa2Lk9w", n=2**4, r=2, p=1)
    const DJANGO_SCRYPT_SMALL: &str = "scrypt$16$Zq3xYhX1mPa2Lk9w$2$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==";
    // The hashers Django 5.0 removed, so made with Python's hashlib the way Django 4.2's
    // SHA1PasswordHasher, UnsaltedSHA1PasswordHasher and UnsaltedMD5PasswordHasher made them:
    // "sha1$%s$%s" % (salt, hashlib.sha1((salt + password).encode()).hexdigest())
    // with salt = "Zq3xYhX1mPa2Lk9w"
    const LEGACY_SHA1: &str = "sha1$Zq3xYhX1mPa2Lk9w$30aed06f3823f5e2a8d446879d8d3f2e3e7af883";
    // "sha1$$" + hashlib.sha1("some pässword".encode()).hexdigest()
    const LEGACY_UNSALTED_SHA1: &str = "sha1$$0351ea0e555edabf3fe0439fd1e7c9a4c3d4f651";
    // hashlib.md5("some pässword".encode()).hexdigest(), bare and behind "md5$$"
    const LEGACY_UNSALTED_MD5: &str = "42a8b3c8a575d6a9256f6b7a82966f69";
    const LEGACY_UNSALTED_MD5_PREFIXED: &str = "md5$$42a8b3c8a575d6a9256f6b7a82966f69";
    // make_password("some pässword", salt="Zq3xYhX1mPa2Lk9w", hasher="md5")
    const DJANGO_MD5_FIXED_SALT: &str = "md5$Zq3xYhX1mPa2Lk9w$f29728021b8b4997307d73f5cd19a4e7";

    /// One hash of every kind other than argon2, each cheap to check, all of DJANGO_PASSWORD.
    const DJANGO_CHEAP: &[&str] = &[
        DJANGO_PBKDF2_SHA1_SMALL,
        DJANGO_BCRYPT_SHA256_SMALL,
        DJANGO_BCRYPT_SMALL,
        DJANGO_BCRYPT_2A,
        DJANGO_SCRYPT_SMALL,
        DJANGO_MD5,
        DJANGO_MD5_FIXED_SALT,
        LEGACY_SHA1,
        LEGACY_UNSALTED_SHA1,
        LEGACY_UNSALTED_MD5,
        LEGACY_UNSALTED_MD5_PREFIXED,
    ];

    fn hasher(params: Argon2Params) -> Argon2Hasher {
        Argon2Hasher::new(params, 2).expect("valid parameters")
    }

    fn password(raw: &str) -> Password {
        Password::new(raw.to_owned()).expect("not blank")
    }

    fn stored(raw: &str) -> PasswordHash {
        PasswordHash::new(raw.to_owned())
    }

    #[test]
    fn a_hash_with_default_parameters_is_an_argon2id_phc_string_that_verifies() {
        let hasher = hasher(Argon2Params::default());
        let hash = hasher.hash(&password("correct horse")).expect("hashes");
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash:?}"
        );
        assert_eq!(
            hasher.verify(&password("correct horse"), &hash),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn a_hash_carries_a_16_byte_salt_and_a_32_byte_output() {
        let hash = hasher(SMALL).hash(&password("pw")).expect("hashes");
        let parsed = phc::PasswordHash::new(hash.as_str()).expect("a PHC string");
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(parsed.salt.map(|salt| salt.len()), Some(16));
        assert_eq!(parsed.hash.map(|output| output.len()), Some(32));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_their_salt() {
        let hasher = hasher(SMALL);
        let first = hasher.hash(&password("same")).expect("hashes");
        let second = hasher.hash(&password("same")).expect("hashes");
        assert_ne!(first, second);
    }

    #[test]
    fn the_right_password_matches_and_a_wrong_one_does_not() {
        let hasher = hasher(SMALL);
        let hash = hasher.hash(&password("s3cret!")).expect("hashes");
        assert_eq!(
            hasher.verify(&password("s3cret!"), &hash),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify(&password("s3cret?"), &hash),
            Verification::Mismatch
        );
    }

    /// Stored hashes that cannot be checked: Django's unusable-password marker and corrupt or
    /// unknown formats.
    const UNUSABLE: &[&str] = &[
        "",
        "!",
        // What Django's `set_unusable_password` stores: `!` and 40 random characters.
        "!Xb3kq9ZpW2yLmN4vR8tD1sF6gH0jK5aQ7eC2uI9o",
        "$",
        "plain text",
        "$argon2id$",
        "$argon2id$v=19$m=1024,t=1,p=1$",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ",
        "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "$argon2id$v=99$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        // Beyond the argon2 caps: 1 GiB and a KiB more; 1 GiB for 5 passes; 4 GiB.
        "$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "argon2$argon2id$v=19$m=1048576,t=5,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "argon2$argon2id$v=19$m=4194303,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        "argon2$",
        "argon2$bcrypt$x",
        "argon2$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$0$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
        "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$not base64",
        "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv",
        // Malformed variants of the Django 5.2 and legacy vectors below.
        "pbkdf2_sha1$",
        "pbkdf2_sha1$1000$Zq3xYhX1mPa2Lk9w",
        "pbkdf2_sha1$01000$Zq3xYhX1mPa2Lk9w$hkjW3mrgM1t8ilurZHYDIJjxRLs=",
        "pbkdf2_sha1$1000$Zq3xYhX1mPa2Lk9w$hkjW3mrgM1t8ilurZHYDIJjxRLs",
        "pbkdf2_sha1$1000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
        "bcrypt$",
        "bcrypt$$",
        "bcrypt$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG",
        "bcrypt$$2c$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG",
        "bcrypt$$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0I",
        "bcrypt$$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG$",
        "bcrypt$$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0I!",
        "bcrypt$$2b$4x$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG",
        "bcrypt$$2b$03$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG",
        "bcrypt$$2b$04$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0Iä",
        "bcrypt_sha256$$2b$04$XnpN.1UkK5BBHGZejmQ90urn6i47eS4RXTzP0oQ9pM6qSXZBHpAH",
        "scrypt$",
        "scrypt$16$Zq3xYhX1mPa2Lk9w$2$1",
        "scrypt$16$Zq3xYhX1mPa2Lk9w$2$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA",
        "scrypt$16$Zq3xYhX1mPa2Lk9w$2$1$c2hvcnQ=",
        "scrypt$15$Zq3xYhX1mPa2Lk9w$2$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
        "scrypt$16$Zq3xYhX1mPa2Lk9w$0$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
        "scrypt$16$Zq3xYhX1mPa2Lk9w$2$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==$",
        // The brief's guess at the order (salt before n): not what Django writes.
        "scrypt$Zq3xYhX1mPa2Lk9w$16$2$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
        "md5$",
        "md5$Zq3xYhX1mPa2Lk9w",
        "md5$$42a8b3c8a575d6a9256f6b7a82966f6",
        "md5$Zq3xYhX1mPa2Lk9w$F29728021B8B4997307D73F5CD19A4E7",
        "md5$Zq3xYhX1mPa2Lk9w$f29728021b8b4997307d73f5cd19a4e7 ",
        "sha1$",
        "sha1$$",
        "sha1$$0351ea0e555edabf3fe0439fd1e7c9a4c3d4f65",
        "sha1$Zq3xYhX1mPa2Lk9w$30aed06f3823f5e2a8d446879d8d3f2e3e7af88g",
        "42A8B3C8A575D6A9256F6B7A82966F69",
        "42a8b3c8a575d6a9256f6b7a82966f6g",
        // Beyond the caps: the same hashes with costs no Django ever used.
        "pbkdf2_sha1$20000001$Zq3xYhX1mPa2Lk9w$hkjW3mrgM1t8ilurZHYDIJjxRLs=",
        "pbkdf2_sha256$4294967295$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
        "bcrypt$$2b$17$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG",
        "bcrypt_sha256$$2b$31$XnpN.1UkK5BBHGZejmQ90urn6i47eS4RXTzP0oQ9pM6qSXZBHpAHO",
        "scrypt$524288$Zq3xYhX1mPa2Lk9w$8$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
        "scrypt$16384$Zq3xYhX1mPa2Lk9w$8$65$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
        "scrypt$2147483648$Zq3xYhX1mPa2Lk9w$1024$1$TVGjdoyfaa1ilK7lSZ6TraJdHkAcSBvzzzAq8sHgOPSMEviDWQ5yWqytua8AO7ifW3IrsM/DyIQD9NmyzRjfXA==",
    ];

    #[test]
    fn a_hash_that_cannot_be_used_is_unusable_and_costs_no_hashing() {
        let hasher = hasher(SMALL);
        // The constructor computed the dummy hash.
        let before = hasher.inner.gauge.computations();
        for raw in UNUSABLE {
            assert_eq!(
                hasher.verify(&password("pw"), &stored(raw)),
                Verification::Unusable,
                "{raw:?}"
            );
        }
        assert_eq!(hasher.inner.gauge.computations(), before);
    }

    #[test]
    fn an_unusable_hash_and_the_dummy_verification_cost_one_hash_like_a_wrong_password() {
        let hasher = hasher(SMALL);
        let real = hasher.hash(&password("right")).expect("hashes");
        let before = hasher.inner.gauge.computations();
        assert_eq!(
            hasher.verify(&password("wrong"), &real),
            Verification::Mismatch
        );
        let for_a_wrong_password = hasher.inner.gauge.computations() - before;

        for raw in UNUSABLE {
            let before = hasher.inner.gauge.computations();
            // What a login does with an unusable hash.
            assert_eq!(
                hasher.verify(&password("pw"), &stored(raw)),
                Verification::Unusable
            );
            hasher.verify_dummy(&password("pw"));
            assert_eq!(
                hasher.inner.gauge.computations() - before,
                for_a_wrong_password,
                "{raw:?}"
            );
        }
        assert_eq!(for_a_wrong_password, 1);
    }

    #[test]
    fn argon2_costs_are_capped_but_never_below_the_configured_ones() {
        let default = Argon2Params::default();
        // Django 5.2's default and the caps exactly.
        assert!(affordable(&default, 102_400, 2));
        assert!(affordable(&default, ARGON2_MAX_MEMORY_KIB, 4));
        assert!(affordable(&default, 64, 65_536));
        assert!(!affordable(&default, ARGON2_MAX_MEMORY_KIB + 1, 1));
        assert!(!affordable(&default, ARGON2_MAX_MEMORY_KIB, 5));
        assert!(!affordable(&default, 64, 65_537));
        assert!(!affordable(&default, u32::MAX, u32::MAX));
        // A hasher set above the caps still checks what it makes, and nothing dearer.
        let big = Argon2Params {
            memory_kib: 2 * ARGON2_MAX_MEMORY_KIB,
            iterations: 3,
            parallelism: 4,
        };
        assert!(affordable(&big, big.memory_kib, big.iterations));
        assert!(!affordable(&big, big.memory_kib + 1, big.iterations));
        assert!(!affordable(&big, big.memory_kib, big.iterations + 1));
    }

    #[test]
    fn a_hash_made_with_other_parameters_matches_but_needs_rehash() {
        let old = hasher(SMALL).hash(&password("pw")).expect("hashes");
        let stronger = hasher(Argon2Params {
            memory_kib: 2048,
            ..SMALL
        });
        assert_eq!(
            stronger.verify(&password("pw"), &old),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn an_argon2i_or_version_16_hash_matches_but_needs_rehash() {
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).expect("valid"),
        );
        let argon2id_v16 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            Params::new(1024, 1, 1, None).expect("valid"),
        );
        let hasher = hasher(SMALL);
        for other in [argon2i, argon2id_v16] {
            let hash = other.hash_password(b"pw").expect("hashes").to_string();
            assert_eq!(
                hasher.verify(&password("pw"), &stored(&hash)),
                Verification::Match { needs_rehash: true },
                "{hash}"
            );
        }
    }

    #[test]
    fn a_phc_string_without_version_is_verified_as_version_16() {
        let v16 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            Params::new(1024, 1, 1, None).expect("valid"),
        );
        let hash = v16.hash_password(b"pw").expect("hashes").to_string();
        let unversioned = hash.replace("$v=16", "");
        assert!(unversioned.starts_with("$argon2id$m=1024"), "{unversioned}");
        assert_eq!(
            hasher(SMALL).verify(&password("pw"), &stored(&unversioned)),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn a_django_pbkdf2_hash_matches_its_password_and_needs_rehash() {
        let hasher = hasher(SMALL);
        assert_eq!(
            hasher.verify(&password("secret-pass"), &stored(DJANGO_PBKDF2_SMALL)),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            hasher.verify(&password("secret-pasS"), &stored(DJANGO_PBKDF2_SMALL)),
            Verification::Mismatch
        );
    }

    // About 8 s in an unoptimised build: the PBKDF2 loop is generic code compiled into this
    // crate, so it runs at the test profile's opt-level.
    #[test]
    fn a_django_pbkdf2_hash_with_the_default_million_rounds_matches() {
        assert_eq!(
            hasher(SMALL).verify(&password("secret-pass"), &stored(DJANGO_PBKDF2_DEFAULT)),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn django_argon2_hashes_match_their_password_and_need_rehash() {
        let hasher = hasher(SMALL);
        for django in [DJANGO_ARGON2_SMALL, DJANGO_ARGON2_DEFAULT] {
            assert_eq!(
                hasher.verify(&password("secret-pass"), &stored(django)),
                Verification::Match { needs_rehash: true },
                "{django}"
            );
        }
        assert_eq!(
            hasher.verify(&password("secret-pasS"), &stored(DJANGO_ARGON2_SMALL)),
            Verification::Mismatch
        );
    }

    #[test]
    fn a_django_argon2_hash_with_current_parameters_still_needs_rehash() {
        let hasher = hasher(SMALL);
        let ours = hasher.hash(&password("pw")).expect("hashes");
        let django_style = stored(&format!("argon2{}", ours.as_str()));
        assert_eq!(
            hasher.verify(&password("pw"), &django_style),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn every_other_django_hash_matches_its_password_and_needs_rehash() {
        let hasher = hasher(SMALL);
        for django in DJANGO_CHEAP {
            assert_eq!(
                hasher.verify(&password(DJANGO_PASSWORD), &stored(django)),
                Verification::Match { needs_rehash: true },
                "{django}"
            );
            // A wrong password, the password with another case, and the same text decomposed
            // (a + combining diaeresis): Django hashes the UTF-8 bytes as they come.
            for wrong in [
                "some password",
                "some pässwort",
                "Some pässword",
                "some pa\u{308}ssword",
            ] {
                assert_eq!(
                    hasher.verify(&password(wrong), &stored(django)),
                    Verification::Mismatch,
                    "{django} {wrong:?}"
                );
            }
        }
    }

    // About 1.5 s in all: each is one verification at Django 5.2's default cost.
    #[test]
    fn django_hashes_at_django_5_2_default_costs_match() {
        let hasher = hasher(SMALL);
        for django in [
            DJANGO_PBKDF2_SHA1_DEFAULT,
            DJANGO_BCRYPT_SHA256_DEFAULT,
            DJANGO_BCRYPT_DEFAULT,
            DJANGO_SCRYPT_DEFAULT,
        ] {
            assert_eq!(
                hasher.verify(&password(DJANGO_PASSWORD), &stored(django)),
                Verification::Match { needs_rehash: true },
                "{django}"
            );
        }
        assert_eq!(
            hasher.verify(&password("some passwörd"), &stored(DJANGO_SCRYPT_DEFAULT)),
            Verification::Mismatch
        );
    }

    #[test]
    fn plain_bcrypt_takes_72_bytes_and_refuses_longer_passwords_as_bcrypt_5_does() {
        let hasher = hasher(SMALL);
        let seventy_two = "ä".repeat(36);
        assert_eq!(
            hasher.verify(&password(&seventy_two), &stored(DJANGO_BCRYPT_72_BYTES)),
            Verification::Match { needs_rehash: true }
        );
        // bcrypt never sees past byte 72, so truncating would match these; pyca/bcrypt 5
        // raises ValueError instead, and here they are a mismatch.
        for longer in [format!("{seventy_two}x"), "ä".repeat(100)] {
            assert_eq!(
                hasher.verify(&password(&longer), &stored(DJANGO_BCRYPT_72_BYTES)),
                Verification::Mismatch
            );
        }
        assert_eq!(
            hasher.verify(&password(&"ä".repeat(35)), &stored(DJANGO_BCRYPT_72_BYTES)),
            Verification::Mismatch
        );
        // A NUL byte is part of the password, not its end.
        assert_eq!(
            hasher.verify(&password("nul\0byte"), &stored(DJANGO_BCRYPT_NUL)),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            hasher.verify(&password("nul"), &stored(DJANGO_BCRYPT_NUL)),
            Verification::Mismatch
        );
    }

    #[test]
    fn bcrypt_sha256_reads_every_byte_of_a_long_password() {
        let hasher = hasher(SMALL);
        assert_eq!(
            hasher.verify(
                &password(&"ä".repeat(50)),
                &stored(DJANGO_BCRYPT_SHA256_100_BYTES)
            ),
            Verification::Match { needs_rehash: true }
        );
        for other in ["ä".repeat(36), format!("{}a", "ä".repeat(49))] {
            assert_eq!(
                hasher.verify(&password(&other), &stored(DJANGO_BCRYPT_SHA256_100_BYTES)),
                Verification::Mismatch
            );
        }
    }

    #[test]
    fn every_django_verification_computes_once_on_a_worker_thread() {
        let hasher = hasher(SMALL);
        let kinds = DJANGO_CHEAP
            .iter()
            .chain(&[DJANGO_PBKDF2_SMALL, DJANGO_ARGON2_SMALL]);
        for django in kinds {
            for attempt in [DJANGO_PASSWORD, "secret-pass", "wrong"] {
                let before = hasher.inner.gauge.computations();
                let off_worker = hasher.inner.gauge.off_worker();
                hasher.verify(&password(attempt), &stored(django));
                assert_eq!(
                    hasher.inner.gauge.computations(),
                    before + 1,
                    "{django} {attempt}"
                );
                assert_eq!(hasher.inner.gauge.off_worker(), off_worker, "{django}");
            }
        }
    }

    #[test]
    fn hashes_made_in_reused_memory_verify_with_the_argon2_crates_own_verifier() {
        use argon2::PasswordVerifier as _;
        let hasher = hasher(SMALL);
        for attempt in ["first", "second", "third"] {
            let ours = hasher.hash(&password(attempt)).expect("hashes");
            let parsed = phc::PasswordHash::new(ours.as_str()).expect("a PHC string");
            assert!(
                Argon2::default()
                    .verify_password(attempt.as_bytes(), &parsed)
                    .is_ok()
            );
            assert!(
                Argon2::default()
                    .verify_password(b"other", &parsed)
                    .is_err()
            );
        }
    }

    #[test]
    fn the_dummy_hash_is_made_with_the_configured_parameters() {
        let hasher = hasher(SMALL);
        assert!(
            hasher
                .dummy
                .as_str()
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
        );
        hasher.verify_dummy(&password("anything"));
        assert_eq!(hasher.inner.gauge.peak.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn zero_concurrency_or_impossible_parameters_are_refused() {
        assert!(matches!(
            Argon2Hasher::new(SMALL, 0),
            Err(HasherConfigError::NoConcurrency)
        ));
        for params in [
            Argon2Params {
                memory_kib: 0,
                ..SMALL
            },
            Argon2Params {
                iterations: 0,
                ..SMALL
            },
            Argon2Params {
                parallelism: 0,
                ..SMALL
            },
        ] {
            assert!(matches!(
                Argon2Hasher::new(params, 1),
                Err(HasherConfigError::InvalidParams(_))
            ));
        }
    }

    #[test]
    fn with_one_slot_two_threads_never_compute_at_once() {
        let hasher = Arc::new(Argon2Hasher::new(SMALL, 1).expect("valid parameters"));
        let hash = hasher.hash(&password("pw")).expect("hashes");
        let start = Arc::new(Barrier::new(2));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (hasher, hash, start) = (Arc::clone(&hasher), hash.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..5 {
                        hasher.hash(&password("pw")).expect("hashes");
                        hasher.verify(&password("pw"), &hash);
                        hasher.verify_dummy(&password("pw"));
                        for django in DJANGO_CHEAP {
                            hasher.verify(&password(DJANGO_PASSWORD), &stored(django));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker thread panicked");
        }
        assert_eq!(hasher.inner.gauge.peak.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn debug_output_shows_the_parameters_but_no_hash() {
        let hasher = hasher(SMALL);
        let shown = format!("{hasher:?}");
        assert!(shown.contains("memory_kib: 1024"), "{shown}");
        assert!(shown.contains("max_concurrent: 2"), "{shown}");
        assert!(!shown.contains("$argon2"), "{shown}");
    }
}
