//! The HMAC adapter for the [`AccountTokens`] port: password-reset tokens exactly as Django 5.2's
//! `PasswordResetTokenGenerator` makes them, so reset links mailed by the system this service
//! replaces keep working after the cutover, and signed e-mail verification keys.
//!
//! Django counts a token's seconds in the server's local time (`datetime.now()`, so its
//! `TIME_ZONE`); they are counted in UTC here. Under a `TIME_ZONE` other than UTC, a link
//! mailed by Django before the cutover looks older or younger by the offset; its signature
//! still holds.

use std::fmt;

use application::ports::{AccountTokens, VerificationClaim};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::{Email, User, UserId};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Django's `PasswordResetTokenGenerator.key_salt`.
const RESET_KEY_SALT: &str = "django.contrib.auth.tokens.PasswordResetTokenGenerator";

/// The salt of verification keys: a key is never a valid reset token, nor the other way round.
const VERIFICATION_KEY_SALT: &str = "auth-server.email-verification";

/// 2001-01-01T00:00:00Z as a Unix time: the epoch of Django's reset-token timestamps.
const TOKEN_EPOCH: i64 = 978_307_200;

/// Django's `base36_to_int` refuses longer input; 13 digits hold `i64::MAX`, and a 13-digit
/// value above it is refused as an overflow.
const MAX_BASE36_DIGITS: usize = 13;

const BASE36_DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Makes and checks reset tokens and verification keys with the service's `SECRET_KEY`.
pub struct HmacAccountTokens {
    reset_key: [u8; 32],
    verification_key: [u8; 32],
}

impl HmacAccountTokens {
    /// Tokens keyed by `secret`, Django's `SECRET_KEY` (its UTF-8 bytes).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            reset_key: salted_key(RESET_KEY_SALT, secret),
            verification_key: salted_key(VERIFICATION_KEY_SALT, secret),
        }
    }

    /// Django's `_make_token_with_timestamp(user, timestamp, secret)`.
    fn reset_token_at(&self, user: &User, timestamp: i64) -> String {
        let login_timestamp = user
            .last_login
            // Python's `str(last_login.replace(microsecond=0, tzinfo=None))`.
            .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let value = format!(
            "{}{}{}{}{}",
            user.id,
            user.password_hash.as_str(),
            login_timestamp,
            timestamp,
            user.email.as_str(),
        );
        let digest = hex(&hmac_sha256(&self.reset_key, value.as_bytes()));
        // `hexdigest()[::2]`: every other hex digit, 32 of the 64.
        let halved: String = digest.chars().step_by(2).collect();
        format!("{}-{halved}", to_base36(timestamp))
    }

    fn verification_signature(&self, signed: &str) -> String {
        hex(&hmac_sha256(&self.verification_key, signed.as_bytes()))
    }
}

impl fmt::Debug for HmacAccountTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacAccountTokens").finish_non_exhaustive()
    }
}

impl AccountTokens for HmacAccountTokens {
    fn encode_uid(&self, id: UserId) -> String {
        URL_SAFE_NO_PAD.encode(id.get().to_string())
    }

    fn decode_uid(&self, uid: &str) -> Option<UserId> {
        let bytes = URL_SAFE_NO_PAD.decode(uid).ok()?;
        let digits = std::str::from_utf8(&bytes).ok()?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|byte| byte.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return None;
        }
        digits.parse().ok().map(UserId::new)
    }

    fn reset_token(&self, user: &User, now: DateTime<Utc>) -> String {
        self.reset_token_at(user, token_timestamp(now))
    }

    fn check_reset_token(
        &self,
        user: &User,
        token: &str,
        now: DateTime<Utc>,
        max_age: chrono::Duration,
    ) -> bool {
        // Django splits on "-" into exactly two parts.
        let Some((ts_b36, hash)) = token.split_once('-') else {
            return false;
        };
        if hash.contains('-') {
            return false;
        }
        let Some(timestamp) = from_base36(ts_b36) else {
            return false;
        };
        let expected = self.reset_token_at(user, timestamp);
        let genuine: bool = expected.as_bytes().ct_eq(token.as_bytes()).into();
        genuine && is_fresh(timestamp, now, max_age)
    }

    /// `<username>.<address>.<timestamp>.<signature>`: the first two in URL-safe base64, the
    /// time in base 36 as Django's tokens, the HMAC-SHA256 of the rest in hex.
    fn verification_key(&self, username: &str, email: &Email, now: DateTime<Utc>) -> String {
        let signed = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(username),
            URL_SAFE_NO_PAD.encode(email.as_str()),
            to_base36(token_timestamp(now)),
        );
        let signature = self.verification_signature(&signed);
        format!("{signed}.{signature}")
    }

    fn check_verification_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
        max_age: chrono::Duration,
    ) -> Option<VerificationClaim> {
        let (signed, signature) = key.rsplit_once('.')?;
        let (username, rest) = signed.split_once('.')?;
        let (address, ts_b36) = rest.split_once('.')?;
        let expected = self.verification_signature(signed);
        let genuine: bool = expected.as_bytes().ct_eq(signature.as_bytes()).into();
        if !genuine {
            return None;
        }
        // Only what this adapter signed gets this far, so the rest cannot fail but on a
        // secret shared with something else; it is checked all the same.
        let timestamp = from_base36(ts_b36)?;
        if !is_fresh(timestamp, now, max_age) {
            return None;
        }
        let text = |part: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(part).ok()?).ok();
        Some(VerificationClaim {
            username: text(username)?,
            email: Email::parse(&text(address)?).ok()?,
        })
    }
}

/// Django's `salted_hmac` key: `sha256(key_salt + secret)`.
fn salted_key(salt: &str, secret: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(secret);
    hasher.finalize().into()
}

fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; the error cannot happen.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Django's `_num_seconds(_now())`: whole seconds since 2001-01-01 UTC (none before it).
fn token_timestamp(at: DateTime<Utc>) -> i64 {
    (at.timestamp() - TOKEN_EPOCH).max(0)
}

/// At most `max_age` old at `now`, and not made after it.
fn is_fresh(timestamp: i64, now: DateTime<Utc>, max_age: chrono::Duration) -> bool {
    let age = token_timestamp(now) - timestamp;
    (0..=max_age.num_seconds()).contains(&age)
}

/// Django's `int_to_base36`, for the non-negative timestamps made here.
fn to_base36(mut value: i64) -> String {
    if value <= 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while value > 0 {
        // `value % 36` is in 0..36.
        digits.push(BASE36_DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    digits
        .iter()
        .rev()
        .map(|&digit| char::from(digit))
        .collect()
}

/// The inverse of [`to_base36`]: lowercase digits only, at most 13, no overflow. Non-canonical
/// spellings (leading zeros) parse, and then fail the comparison with the recomputed token, as
/// in Django.
fn from_base36(digits: &str) -> Option<i64> {
    if digits.is_empty() || digits.len() > MAX_BASE36_DIGITS {
        return None;
    }
    digits.bytes().try_fold(0i64, |value, byte| {
        let digit = BASE36_DIGITS.iter().position(|&known| known == byte)?;
        value.checked_mul(36)?.checked_add(digit as i64)
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};
    use domain::{PasswordHash, PersonName, Username};

    use super::*;

    const SECRET: &[u8] = b"django-insecure-test-secret-key-for-vectors-0123456789";
    const THREE_DAYS: i64 = 259_200;

    fn tokens() -> HmacAccountTokens {
        HmacAccountTokens::new(SECRET)
    }

    fn user(id: i64, hash: &str, last_login: Option<DateTime<Utc>>, email: &str) -> User {
        User {
            id: UserId::new(id),
            username: Username::parse("alice").expect("valid username"),
            email: Email::parse(email).expect("valid email"),
            password_hash: PasswordHash::new(hash.to_owned()),
            first_name: PersonName::parse("").expect("valid name"),
            last_name: PersonName::parse("").expect("valid name"),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: at(2026, 1, 1, 0, 0, 0),
            last_login,
            email_verified: false,
            pending_email: None,
        }
    }

    fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
            .single()
            .expect("valid time")
    }

    /// Seconds since 2001-01-01 as a time.
    fn after_epoch(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(TOKEN_EPOCH + seconds, 0).expect("valid time")
    }

    fn alice() -> User {
        user(
            42,
            "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            Some(at(2026, 12, 1, 10, 0, 0) + Duration::microseconds(123_456)),
            "bob@example.com",
        )
    }

    fn max_age() -> Duration {
        Duration::seconds(THREE_DAYS)
    }

    // Made by Django 5.2.19 (`python -m venv`, `pip install 'django==5.2.*'`) with
    // `settings.configure(SECRET_KEY=SECRET, PASSWORD_RESET_TIMEOUT=259200, USE_TZ=True)` and a
    // stand-in user object (pk, password, last_login as an aware UTC datetime, email,
    // `get_email_field_name() == "email"`):
    // `PasswordResetTokenGenerator()._make_token_with_timestamp(user, ts, settings.SECRET_KEY)`,
    // and `urlsafe_base64_encode(force_bytes(pk))` for the uids.
    // 817819200 is `_num_seconds(datetime(2026, 12, 1, 12, 0, 0))`.
    const DJANGO_USERS: [(i64, &str, Option<&str>, &str); 3] = [
        (
            1,
            "pbkdf2_sha256$1000000$salt$hash=",
            None,
            "alice@example.com",
        ),
        (
            42,
            "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            Some("2026-12-01T10:00:00.123456Z"),
            "bob@example.com",
        ),
        (
            1234567,
            "!unusable",
            Some("2025-01-02T03:04:05Z"),
            "carol@b\u{fc}cher.de",
        ),
    ];

    const DJANGO_TOKENS: [(usize, i64, &str); 12] = [
        (0, 0, "0-13537bb6242df25ef25d8a4d242ad18d"),
        (0, 820454400, "dkh6o0-5b12a6ea412878ee95d92345ae33e134"),
        (0, 913000000, "f3krb4-aa2deac29a37f5ea4f6d984520f9b4e7"),
        (0, 817819200, "diwpc0-941166a5e41b6f96ae830077e277dc1e"),
        (1, 0, "0-fa8e380d3e6c805fb3f15c2d81443fe8"),
        (1, 820454400, "dkh6o0-709140ea57ea1dbacbbf13004e008ea6"),
        (1, 913000000, "f3krb4-62ced52e8cad39180edd44b2052d7577"),
        (1, 817819200, "diwpc0-010991fea222b571d59075ab533d9074"),
        (2, 0, "0-947d00b88281e2c65f855417e87fa539"),
        (2, 820454400, "dkh6o0-d3337dd919db2cd75f2b2de8a11c8a0d"),
        (2, 913000000, "f3krb4-167c73f277865e5c70c2e81f96855d06"),
        (2, 817819200, "diwpc0-28c16b715620a9dc8fdacf573d85fba3"),
    ];

    const DJANGO_UIDS: [(i64, &str); 5] = [
        (0, "MA"),
        (1, "MQ"),
        (42, "NDI"),
        (1234567, "MTIzNDU2Nw"),
        (9223372036854775807, "OTIyMzM3MjAzNjg1NDc3NTgwNw"),
    ];

    fn django_user(index: usize) -> User {
        let (id, hash, last_login, email) = DJANGO_USERS[index];
        let last_login = last_login.map(|rfc3339| {
            DateTime::parse_from_rfc3339(rfc3339)
                .expect("valid time")
                .with_timezone(&Utc)
        });
        user(id, hash, last_login, email)
    }

    #[test]
    fn reset_tokens_are_the_ones_django_makes() {
        for (index, timestamp, token) in DJANGO_TOKENS {
            let user = django_user(index);
            assert_eq!(tokens().reset_token(&user, after_epoch(timestamp)), token);
            assert!(
                tokens().check_reset_token(&user, token, after_epoch(timestamp), max_age()),
                "{token}"
            );
        }
    }

    #[test]
    fn uids_are_the_ones_django_makes_and_decode_back() {
        for (id, uid) in DJANGO_UIDS {
            assert_eq!(tokens().encode_uid(UserId::new(id)), uid);
            assert_eq!(tokens().decode_uid(uid), Some(UserId::new(id)));
        }
    }

    #[test]
    fn decode_uid_refuses_what_encode_uid_cannot_make() {
        let refused = [
            "",
            "MQ==",                                   // padded
            "MDQy",                                   // "042": a leading zero
            "LTE",                                    // "-1"
            "KzE",                                    // "+1"
            "IDE",                                    // " 1"
            "YQ",                                     // "a"
            "OTIyMzM3MjAzNjg1NDc3NTgwOA",             // i64::MAX + 1
            "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ", // 28 nines
            "M+Q",                                    // not URL-safe base64
            "MR",                                     // non-canonical trailing bits
            "_w",                                     // not UTF-8
        ];
        for uid in refused {
            assert_eq!(tokens().decode_uid(uid), None, "{uid:?}");
        }
    }

    #[test]
    fn a_reset_token_works_until_exactly_max_age_and_not_a_second_later() {
        let made = at(2026, 12, 1, 12, 0, 0);
        let token = tokens().reset_token(&alice(), made);
        let check = |now| tokens().check_reset_token(&alice(), &token, now, max_age());
        assert!(check(made));
        assert!(check(made + max_age()));
        assert!(!check(made + max_age() + Duration::seconds(1)));
        assert!(!check(made - Duration::seconds(1)), "made in the future");
    }

    #[test]
    fn a_reset_token_stops_working_when_the_user_changes() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let token = tokens().reset_token(&alice(), now);
        let mut changed_hash = alice();
        changed_hash.password_hash = PasswordHash::new("argon2$argon2id$v=19$other".to_owned());
        let mut signed_in = alice();
        signed_in.last_login = Some(now);
        let mut first_login = alice();
        first_login.last_login = None;
        let mut moved = alice();
        moved.email = Email::parse("new@example.com").expect("valid email");
        let mut other_id = alice();
        other_id.id = UserId::new(43);
        for user in [changed_hash, signed_in, first_login, moved, other_id] {
            assert!(!tokens().check_reset_token(&user, &token, now, max_age()));
        }
        // What Django leaves out: the microseconds of the last login, and everything else.
        let mut same = alice();
        same.last_login = Some(at(2026, 12, 1, 10, 0, 0));
        same.email_verified = true;
        assert!(tokens().check_reset_token(&same, &token, now, max_age()));
    }

    #[test]
    fn a_tampered_reset_token_is_refused() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let token = tokens().reset_token(&alice(), now);
        let (ts_b36, hash) = token.split_once('-').expect("a dash");
        let earlier = to_base36(token_timestamp(now) - 1);
        let mut flipped = hash.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).expect("hex");
        let tampered = [
            format!("{earlier}-{hash}"),
            format!("{ts_b36}-{flipped}"),
            format!("0{ts_b36}-{hash}"),
            format!("{}-{hash}", ts_b36.to_uppercase()),
            format!("{ts_b36}-{}", hash.to_uppercase()),
            format!("{ts_b36}-{hash}0"),
            format!("{ts_b36}-{}", &hash[1..]),
            format!("{ts_b36}--{hash}"),
            format!("{ts_b36}{hash}"),
            format!("{ts_b36}-{hash}-"),
            format!("zzzzzzzzzzzzzz-{hash}"),
            String::new(),
            "-".to_owned(),
        ];
        for token in tampered {
            assert!(
                !tokens().check_reset_token(&alice(), &token, now, max_age()),
                "{token:?}"
            );
        }
    }

    #[test]
    fn a_reset_token_made_with_another_secret_is_refused() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let token = HmacAccountTokens::new(b"another secret").reset_token(&alice(), now);
        assert!(!tokens().check_reset_token(&alice(), &token, now, max_age()));
    }

    fn address() -> Email {
        Email::parse("new.address+tag@example.com").expect("valid email")
    }

    #[test]
    fn a_verification_key_gives_back_its_address_until_exactly_max_age() {
        let made = at(2026, 12, 1, 12, 0, 0);
        let key = tokens().verification_key("alice", &address(), made);
        assert!(
            key.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte)),
            "{key}"
        );
        let check = |now| tokens().check_verification_key(&key, now, max_age());
        let claim = Some(VerificationClaim {
            username: "alice".to_owned(),
            email: address(),
        });
        assert_eq!(check(made), claim);
        assert_eq!(check(made + max_age()), claim);
        assert_eq!(check(made + max_age() + Duration::seconds(1)), None);
        assert_eq!(
            check(made - Duration::seconds(1)),
            None,
            "made in the future"
        );
    }

    #[test]
    fn a_verification_key_for_a_non_ascii_address_round_trips() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let email = Email::parse("carol@b\u{fc}cher.de").expect("valid email");
        let key = tokens().verification_key("carol", &email, now);
        assert_eq!(
            tokens().check_verification_key(&key, now, max_age()),
            Some(VerificationClaim {
                username: "carol".to_owned(),
                email
            })
        );
    }

    #[test]
    fn a_tampered_verification_key_is_refused() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let key = tokens().verification_key("alice", &address(), now);
        let parts: Vec<&str> = key.split('.').collect();
        let [user_b64, address_b64, ts_b36, signature] = parts[..] else {
            panic!("four parts: {key}");
        };
        let other = URL_SAFE_NO_PAD.encode("attacker@example.com");
        let mallory = URL_SAFE_NO_PAD.encode("mallory");
        let earlier = to_base36(token_timestamp(now) - 1);
        let mut flipped = signature.to_owned().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).expect("hex");
        let tampered = [
            format!("{user_b64}.{other}.{ts_b36}.{signature}"),
            format!("{mallory}.{address_b64}.{ts_b36}.{signature}"),
            format!("{address_b64}.{ts_b36}.{signature}"),
            format!("{user_b64}.{address_b64}.{earlier}.{signature}"),
            format!("{user_b64}.{address_b64}.{ts_b36}.{flipped}"),
            format!("{user_b64}.{address_b64}.{ts_b36}.{}", &signature[..32]),
            format!(
                "{user_b64}.{address_b64}.{ts_b36}.{}",
                signature.to_uppercase()
            ),
            format!("{user_b64}.{address_b64}.{ts_b36}"),
            format!("{user_b64}.{address_b64}.{ts_b36}.{signature}.{signature}"),
            format!("{user_b64}.{address_b64}.{ts_b36}.{signature}."),
            format!("{user_b64}.{address_b64}{ts_b36}.{signature}"),
            String::new(),
        ];
        for key in tampered {
            assert_eq!(
                tokens().check_verification_key(&key, now, max_age()),
                None,
                "{key:?}"
            );
        }
    }

    #[test]
    fn a_verification_key_made_with_another_secret_is_refused() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let key =
            HmacAccountTokens::new(b"another secret").verification_key("alice", &address(), now);
        assert_eq!(tokens().check_verification_key(&key, now, max_age()), None);
    }

    #[test]
    fn a_reset_token_is_no_verification_key_and_the_other_way_round() {
        let now = at(2026, 12, 1, 12, 0, 0);
        let key = tokens().verification_key("alice", &address(), now);
        assert!(!tokens().check_reset_token(&alice(), &key, now, max_age()));
        let token = tokens().reset_token(&alice(), now);
        assert_eq!(
            tokens().check_verification_key(&token, now, max_age()),
            None
        );
    }

    #[test]
    fn base36_matches_django() {
        for (value, digits) in [
            (0, "0"),
            (35, "z"),
            (36, "10"),
            (817_819_200, "diwpc0"),
            (i64::MAX, "1y2p0ij32e8e7"),
        ] {
            assert_eq!(to_base36(value), digits);
            assert_eq!(from_base36(digits), Some(value));
        }
        assert_eq!(from_base36("1y2p0ij32e8e8"), None, "overflow");
        assert_eq!(from_base36("00000000000000"), None, "more than 13 digits");
        assert_eq!(from_base36("Z"), None);
        assert_eq!(from_base36(""), None);
    }

    #[test]
    fn debug_shows_no_key() {
        assert_eq!(format!("{:?}", tokens()), "HmacAccountTokens { .. }");
    }
}
