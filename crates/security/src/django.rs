//! Password hashes written by Django, for the users migrated from the system this service
//! replaces. They are only ever verified; a successful login replaces them with an argon2id hash.
//!
//! Every hasher of Django 5.2 is read (`pbkdf2_sha256`, `pbkdf2_sha1`, `argon2`, `bcrypt_sha256`,
//! `bcrypt`, `scrypt`, `md5`), and so are the ones Django 5.0 removed but old databases still
//! hold (unsalted MD5, `sha1`, unsalted SHA-1), with the formats of Django 4.2's `hashers.py`.
//! Each is checked the way Django checks it: the stored string's parameters and salt are used to
//! compute the hash again, and the result must be exactly what is stored.
//!
//! A stored string that names one of these hashers but cannot be checked (malformed, or with a
//! cost beyond the caps below) is unusable: no password could match it in Django either, or
//! checking it would tie a hashing slot up for far longer than any hash Django ever made. Such a
//! string is refused before any hashing work.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Django's `UNUSABLE_PASSWORD_PREFIX`: `make_password(None)` and `set_unusable_password()` store
/// it followed by 40 random characters. Django's `hashers.py` calls it "never a valid encoded
/// hash".
const UNUSABLE_PREFIX: char = '!';

/// Django's `Argon2PasswordHasher` stores `argon2` followed by the PHC string.
const ARGON2_PREFIX: &str = "argon2";

/// The most PBKDF2 iterations checked: 20 times Django 5.2's 1,000,000 (which grows by about a
/// fifth per release: 1,200,000 in Django 6.0), so any hash a Django of the next decade makes
/// still verifies. Beyond it a crafted row could make one check take minutes (the count is
/// stored, up to 2^32-1). One check of 1,000,000 takes about 0.2 s optimised on a current x86
/// core (`verification_times_at_default_costs` in `hasher.rs`), so one at the cap about 5 s.
const PBKDF2_MAX_ITERATIONS: u32 = 20_000_000;

/// The highest bcrypt cost (log2 of the rounds) checked: Django's `rounds` has been 12 since
/// bcrypt support came in (Django 1.4), about 0.4 s a check; 16 is 16 times that work, about
/// 6 s. Each step doubles the time, so the 31 bcrypt allows would be days.
const BCRYPT_MAX_COST: u32 = 16;

/// The most memory one scrypt check may take, 128·n·r bytes: 256 MiB, 16 times Django 5.2's
/// 16 MiB (n = 2^14, r = 8). Stock Django cannot even compute more than 32 MiB: its `maxmem = 0`
/// leaves OpenSSL's 32 MiB limit in force, so only a subclass raising `maxmem` stored more.
const SCRYPT_MAX_MEMORY: u64 = 256 * 1024 * 1024;

/// The most scrypt work one check may do, 128·n·r·p bytes mixed: 1 GiB, 12.8 times Django 5.2's
/// 80 MiB (p = 5), which takes about 0.27 s: about 3.5 s at the cap. scrypt's lanes run one
/// after another in the same memory, so `p` multiplies the time but not the memory.
const SCRYPT_MAX_WORK: u64 = 1024 * 1024 * 1024;

/// Django's scrypt output length (`dklen=64`).
const SCRYPT_LEN: usize = 64;

/// bcrypt uses at most this many bytes of a password.
const BCRYPT_MAX_PASSWORD: usize = 72;

/// How a stored hash is to be checked.
pub(crate) enum Format<'a> {
    /// An argon2 PHC string as this service stores them (or anything else the PHC parser may
    /// make sense of).
    Phc(&'a str),
    /// The PHC string inside Django's `argon2$argon2id$…`.
    DjangoArgon2(&'a str),
    /// Another Django hash, parsed and within the caps.
    Django(DjangoHash<'a>),
    /// Django's unusable-password marker, or a Django hash that cannot be checked.
    Unusable,
}

/// Tells how `stored` is to be checked, in the order Django's `identify_hasher` tells them
/// apart: a bare 32 characters without `$` are unsalted MD5, otherwise the text before the first
/// `$` names the hasher.
pub(crate) fn identify(stored: &str) -> Format<'_> {
    if stored.starts_with(UNUSABLE_PREFIX) {
        return Format::Unusable;
    }
    if stored.len() == 32 && !stored.contains('$') {
        return parsed(SaltedDigest::parse(Digest::Md5, "", stored).map(DjangoHash::Digest));
    }
    let Some((algorithm, rest)) = stored.split_once('$') else {
        return Format::Phc(stored);
    };
    match algorithm {
        ARGON2_PREFIX if rest.starts_with("argon2") => stored
            .strip_prefix(ARGON2_PREFIX)
            .map_or(Format::Unusable, Format::DjangoArgon2),
        "pbkdf2_sha256" => parsed(Pbkdf2::parse(Prf::Sha256, rest).map(DjangoHash::Pbkdf2)),
        "pbkdf2_sha1" => parsed(Pbkdf2::parse(Prf::Sha1, rest).map(DjangoHash::Pbkdf2)),
        "bcrypt_sha256" => parsed(Bcrypt::parse(true, rest).map(DjangoHash::Bcrypt)),
        "bcrypt" => parsed(Bcrypt::parse(false, rest).map(DjangoHash::Bcrypt)),
        "scrypt" => parsed(Scrypt::parse(rest).map(DjangoHash::Scrypt)),
        // `md5$$<hex>` is Django's unsalted MD5 with a prefix: the same digest, salt empty.
        "md5" => parsed(SaltedDigest::parse_encoded(Digest::Md5, rest).map(DjangoHash::Digest)),
        // Likewise `sha1$$<hex>`, the unsalted SHA-1 of Django before 5.0.
        "sha1" => parsed(SaltedDigest::parse_encoded(Digest::Sha1, rest).map(DjangoHash::Digest)),
        _ => Format::Phc(stored),
    }
}

fn parsed(hash: Option<DjangoHash<'_>>) -> Format<'_> {
    hash.map_or(Format::Unusable, Format::Django)
}

/// A Django hash other than argon2, ready to be checked. Every one of them is weaker than, or
/// made differently from, what this service stores, so a match always needs a rehash.
pub(crate) enum DjangoHash<'a> {
    Pbkdf2(Pbkdf2<'a>),
    Bcrypt(Bcrypt<'a>),
    Scrypt(Scrypt<'a>),
    Digest(SaltedDigest<'a>),
}

impl DjangoHash<'_> {
    /// Whether `password` (its UTF-8 bytes, as Django's `password.encode()` gives) is the one
    /// hashed. The final comparison is constant-time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Pbkdf2(hash) => hash.verify(password),
            Self::Bcrypt(hash) => hash.verify(password),
            Self::Scrypt(hash) => hash.verify(password),
            Self::Digest(hash) => hash.verify(password),
        }
    }
}

/// A decimal number as Django's `"%d"` writes it: digits only, no sign, no leading zero. Django
/// checks a hash by writing it anew from its parts, so `+1000` or `01000` could never match.
fn canonical_number(text: &str) -> Option<u32> {
    let canonical = !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// `bytes` as lowercase hexadecimal, as Python's `hexdigest()` and `binascii.hexlify` write it.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The pseudo-random function of a Django PBKDF2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prf {
    /// `pbkdf2_sha256`, Django's default hasher.
    Sha256,
    /// `pbkdf2_sha1`, Django's `PBKDF2SHA1PasswordHasher`.
    Sha1,
}

impl Prf {
    /// Django's PBKDF2 output length: the digest's own, as `dklen=None` gives.
    fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha1 => 20,
        }
    }
}

/// A parsed Django PBKDF2 hash: `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` or the same
/// with `pbkdf2_sha1`.
pub(crate) struct Pbkdf2<'a> {
    prf: Prf,
    iterations: u32,
    salt: &'a str,
    hash: Vec<u8>,
}

impl<'a> Pbkdf2<'a> {
    /// `rest` is what follows `pbkdf2_sha256$` or `pbkdf2_sha1$`; `None` when it is malformed or
    /// asks for more than [`PBKDF2_MAX_ITERATIONS`].
    pub(crate) fn parse(prf: Prf, rest: &'a str) -> Option<Self> {
        let mut parts = rest.split('$');
        let iterations = canonical_number(parts.next()?)
            .filter(|&n| (1..=PBKDF2_MAX_ITERATIONS).contains(&n))?;
        let salt = parts.next()?;
        let hash = STANDARD.decode(parts.next()?).ok()?;
        if parts.next().is_some() || hash.len() != prf.output_len() {
            return None;
        }
        Some(Self {
            prf,
            iterations,
            salt,
            hash,
        })
    }

    fn verify(&self, password: &[u8]) -> bool {
        let mut computed = vec![0_u8; self.hash.len()];
        let salt = self.salt.as_bytes();
        match self.prf {
            Prf::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, self.iterations, &mut computed);
            }
            Prf::Sha1 => {
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, self.iterations, &mut computed)
            }
        }
        computed.ct_eq(&self.hash).into()
    }
}

/// A parsed Django bcrypt hash: `bcrypt_sha256$` or `bcrypt$`, then the 60-character modular
/// crypt string `$2b$<cost>$<22 characters of salt><31 of hash>` (Django's own rows say `2b`,
/// older ones `2a`; pyca/bcrypt also reads `2x` and `2y`).
pub(crate) struct Bcrypt<'a> {
    /// `bcrypt_sha256`: bcrypt is given the hex SHA-256 of the password (64 bytes, so never
    /// truncated), not the password.
    prehash: bool,
    version: bcrypt::Version,
    cost: u32,
    salt: [u8; 16],
    /// The modular crypt string, compared whole with the one computed, as Django does.
    encoded: &'a str,
}

impl<'a> Bcrypt<'a> {
    /// `rest` is what follows `bcrypt_sha256$` or `bcrypt$`; `None` when it is malformed or its
    /// cost is above [`BCRYPT_MAX_COST`] (or below bcrypt's minimum, 4).
    pub(crate) fn parse(prehash: bool, rest: &'a str) -> Option<Self> {
        // Checks the length (60), the `$` positions, the version and the base64 of both halves.
        let parts: bcrypt::HashParts = rest.parse().ok()?;
        let version = match rest.get(1..3)? {
            "2a" => bcrypt::Version::TwoA,
            "2b" => bcrypt::Version::TwoB,
            "2x" => bcrypt::Version::TwoX,
            "2y" => bcrypt::Version::TwoY,
            _ => return None,
        };
        let cost = parts.get_cost();
        if !(4..=BCRYPT_MAX_COST).contains(&cost) {
            return None;
        }
        Some(Self {
            prehash,
            version,
            cost,
            salt: parts.get_salt_raw(),
            encoded: rest,
        })
    }

    /// Plain bcrypt reads only the first 72 bytes of a password. pyca/bcrypt 5 (what Django 5.2
    /// calls) refuses a longer one outright, so Django fails such a login with an error; older
    /// pyca/bcrypt truncated silently. Here a longer password never matches: it is not what
    /// bcrypt 5 could have hashed, and matching its first 72 bytes would accept passwords that
    /// differ from the user's. It is hashed all the same (truncated), so it costs what a wrong
    /// password costs.
    fn verify(&self, password: &[u8]) -> bool {
        let prehashed;
        let input = if self.prehash {
            prehashed = hex(&Sha256::digest(password));
            prehashed.as_bytes()
        } else {
            password
        };
        let Ok(computed) = bcrypt::hash_with_salt(input, self.cost, self.salt) else {
            return false;
        };
        let computed = computed.format_for_version(self.version.clone());
        let same: bool = computed.as_bytes().ct_eq(self.encoded.as_bytes()).into();
        same && input.len() <= BCRYPT_MAX_PASSWORD
    }
}

/// A parsed Django scrypt hash: `scrypt$<n>$<salt>$<r>$<p>$<base64 hash>` (n before the salt).
pub(crate) struct Scrypt<'a> {
    params: scrypt::Params,
    salt: &'a str,
    hash: [u8; SCRYPT_LEN],
}

impl<'a> Scrypt<'a> {
    /// `rest` is what follows `scrypt$`; `None` when it is malformed, names parameters Python's
    /// `hashlib.scrypt` (OpenSSL) refuses, or is beyond [`SCRYPT_MAX_MEMORY`] or
    /// [`SCRYPT_MAX_WORK`].
    pub(crate) fn parse(rest: &'a str) -> Option<Self> {
        let mut parts = rest.split('$');
        let n = canonical_number(parts.next()?)?;
        let salt = parts.next()?;
        let r = canonical_number(parts.next()?).filter(|&r| r > 0)?;
        let p = canonical_number(parts.next()?).filter(|&p| p > 0)?;
        let hash = STANDARD.decode(parts.next()?).ok()?;
        if parts.next().is_some() || n < 2 || !n.is_power_of_two() {
            return None;
        }
        let log_n = n.trailing_zeros();
        let memory = 128 * u64::from(n) * u64::from(r);
        // OpenSSL's own rule, N < 2^(16·r): such a hash could not have been made.
        if u64::from(log_n) >= 16 * u64::from(r)
            || memory > SCRYPT_MAX_MEMORY
            || memory * u64::from(p) > SCRYPT_MAX_WORK
        {
            return None;
        }
        let params = scrypt::Params::new(u8::try_from(log_n).ok()?, r, p, SCRYPT_LEN).ok()?;
        Some(Self {
            params,
            salt,
            hash: hash.try_into().ok()?,
        })
    }

    fn verify(&self, password: &[u8]) -> bool {
        let mut computed = [0_u8; SCRYPT_LEN];
        scrypt::scrypt(password, self.salt.as_bytes(), &self.params, &mut computed).is_ok()
            && bool::from(computed.ct_eq(&self.hash))
    }
}

/// The digest of a salted-digest hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Md5,
    Sha1,
}

impl Digest {
    fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha1 => 40,
        }
    }

    fn hex_of(self, salt: &[u8], password: &[u8]) -> String {
        match self {
            Self::Md5 => hex(&Md5::new()
                .chain_update(salt)
                .chain_update(password)
                .finalize()),
            Self::Sha1 => hex(&Sha1::new()
                .chain_update(salt)
                .chain_update(password)
                .finalize()),
        }
    }
}

/// One digest of salt and password, as lowercase hex: Django's `MD5PasswordHasher`
/// (`md5$<salt>$<hex>`), the `SHA1PasswordHasher` Django 5.0 removed (`sha1$<salt>$<hex>`),
/// and the unsalted forms of both (bare `<hex>` or `md5$$<hex>`, and `sha1$$<hex>`), which are
/// the same digest with an empty salt.
pub(crate) struct SaltedDigest<'a> {
    digest: Digest,
    salt: &'a str,
    hex: &'a str,
}

impl<'a> SaltedDigest<'a> {
    /// `rest` is what follows `md5$` or `sha1$`: `<salt>$<hex>`.
    fn parse_encoded(digest: Digest, rest: &'a str) -> Option<Self> {
        let (salt, hex) = rest.split_once('$')?;
        Self::parse(digest, salt, hex)
    }

    /// `None` unless `hex` is the digest's length of lowercase hex digits: Django compares the
    /// `hexdigest()` it computes with the stored text, so nothing else could ever match.
    fn parse(digest: Digest, salt: &'a str, hex: &'a str) -> Option<Self> {
        let lowercase_hex = hex
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        (hex.len() == digest.hex_len() && lowercase_hex).then_some(Self { digest, salt, hex })
    }

    fn verify(&self, password: &[u8]) -> bool {
        let computed = self.digest.hex_of(self.salt.as_bytes(), password);
        computed.as_bytes().ct_eq(self.hex.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_unusable(stored: &str) -> bool {
        matches!(identify(stored), Format::Unusable)
    }

    // Django's vectors are verified through the hasher, in `hasher.rs`; these are variations of
    // PBKDF2PasswordHasher().encode("secret-pass", "Zq3xYhX1mPa2Lk9w", iterations=1000).
    #[test]
    fn a_malformed_pbkdf2_hash_does_not_parse() {
        for encoded in [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$0$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$ten$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$+1000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$01000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$not base64",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$c2hvcnQ=",
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$SQSM4RmPiR/gg99hRHcavqRehNwyBMZ1OP+vnRAT/cs=$x",
            // A SHA-1-sized digest under the SHA-256 name.
            "pbkdf2_sha256$1000$Zq3xYhX1mPa2Lk9w$hkjW3mrgM1t8ilurZHYDIJjxRLs=",
        ] {
            assert!(is_unusable(encoded), "{encoded}");
        }
    }

    #[test]
    fn a_pbkdf2_hash_beyond_the_iteration_cap_does_not_parse() {
        let at_cap = format!("{PBKDF2_MAX_ITERATIONS}$salt$hkjW3mrgM1t8ilurZHYDIJjxRLs=");
        let over = format!(
            "{}$salt$hkjW3mrgM1t8ilurZHYDIJjxRLs=",
            PBKDF2_MAX_ITERATIONS + 1
        );
        assert!(Pbkdf2::parse(Prf::Sha1, &at_cap).is_some());
        assert!(Pbkdf2::parse(Prf::Sha1, &over).is_none());
        assert!(Pbkdf2::parse(Prf::Sha1, "4294967295$salt$hkjW3mrgM1t8ilurZHYDIJjxRLs=").is_none());
    }

    #[test]
    fn a_django_argon2_hash_yields_its_phc_string() {
        assert!(matches!(
            identify("argon2$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            Format::DjangoArgon2("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
        ));
        assert!(matches!(
            identify("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
            Format::Phc("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
        ));
        assert!(matches!(identify("argon2"), Format::Phc("argon2")));
    }

    #[test]
    fn only_canonical_decimal_numbers_are_read() {
        assert_eq!(canonical_number("1000000"), Some(1_000_000));
        assert_eq!(canonical_number("0"), Some(0));
        for odd in ["", "+1", "-1", "01", " 1", "1 ", "1_000", "4294967296", "١"] {
            assert_eq!(canonical_number(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn a_bcrypt_hash_beyond_the_cost_cap_or_below_bcrypts_minimum_does_not_parse() {
        // Django 5.2's bcrypt$ vector at cost 4, with its cost field rewritten.
        let with_cost = |cost: &str| {
            format!("$2b${cost}$GNDCR6ipc72i61hQVREV..BE.GHsg.HV93qAAK/gRDRYE8nylv0IG")
        };
        assert!(Bcrypt::parse(false, &with_cost("04")).is_some());
        assert!(Bcrypt::parse(false, &with_cost("16")).is_some());
        for refused in ["17", "31", "03", "00", "4x"] {
            assert!(
                Bcrypt::parse(false, &with_cost(refused)).is_none(),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_scrypt_hash_beyond_the_memory_or_work_cap_does_not_parse() {
        // 64 zero bytes: the parameters are refused before the hash matters.
        let zeros = STANDARD.encode([0_u8; SCRYPT_LEN]);
        let with = |n: u64, r: u64, p: u64| format!("{n}$salt${r}${p}${zeros}");
        // Django 5.2's defaults, and the caps exactly.
        assert!(Scrypt::parse(&with(1 << 14, 8, 5)).is_some());
        assert!(Scrypt::parse(&with(1 << 18, 8, 1)).is_some());
        assert!(Scrypt::parse(&with(1 << 14, 8, 64)).is_some());
        // 512 MiB of memory; 1 GiB and a lane more of work.
        assert!(Scrypt::parse(&with(1 << 19, 8, 1)).is_none());
        assert!(Scrypt::parse(&with(1 << 14, 8, 65)).is_none());
        // Not a power of two, too small, no block or lane, N ≥ 2^(16·r), no u32.
        for (n, r, p) in [
            (3 << 12, 8, 1),
            (1, 8, 1),
            (0, 8, 1),
            (1 << 14, 0, 1),
            (1 << 14, 8, 0),
            (1 << 16, 1, 1),
            (1 << 32, 8, 1),
        ] {
            assert!(Scrypt::parse(&with(n, r, p)).is_none(), "{n} {r} {p}");
        }
    }

    #[test]
    fn a_salted_digest_needs_lowercase_hex_of_its_length() {
        let md5 = "42a8b3c8a575d6a9256f6b7a82966f69";
        assert!(SaltedDigest::parse(Digest::Md5, "", md5).is_some());
        assert!(SaltedDigest::parse(Digest::Md5, "", &md5.to_uppercase()).is_none());
        assert!(SaltedDigest::parse(Digest::Md5, "", &md5[1..]).is_none());
        assert!(SaltedDigest::parse(Digest::Sha1, "", md5).is_none());
        assert!(SaltedDigest::parse(Digest::Md5, "", "zza8b3c8a575d6a9256f6b7a82966f69").is_none());
    }
}
