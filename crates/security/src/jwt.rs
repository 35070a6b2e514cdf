//! The HS256 JWT adapter for the [`TokenCodec`] port, wire-compatible with
//! djangorestframework-simplejwt: tokens issued by either system are accepted by the other.

use std::fmt;
use std::time::Duration;

use application::ports::{IssueError, IssuedToken, TokenCodec, TokenProblem};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{SessionId, TokenClaims, TokenId, TokenType, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The header PyJWT writes (it sorts the keys). `jsonwebtoken::encode` would put `typ` first, so
/// tokens are assembled here and only signed by jsonwebtoken.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Signs and verifies HS256 tokens with one shared secret.
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    encoded_header: String,
    access_lifetime: TimeDelta,
    refresh_lifetime: TimeDelta,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: TimeDelta,
}

impl JwtCodec {
    /// A codec signing with `secret`; a lifetime too long for a date saturates to the largest
    /// one, and issuing then fails with an [`IssueError`].
    pub fn new(secret: &[u8], access_lifetime: Duration, refresh_lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the caller's clock in `decode`, never the system time.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        // simplejwt ignores `aud` unless an audience is configured, and none is.
        validation.validate_aud = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            encoded_header: URL_SAFE_NO_PAD.encode(HEADER),
            access_lifetime: to_time_delta(access_lifetime),
            refresh_lifetime: to_time_delta(refresh_lifetime),
            issuer: None,
            audience: None,
            leeway: TimeDelta::zero(),
        }
    }

    /// simplejwt's `ISSUER`: issued tokens carry it as `iss`, and a token without that `iss`
    /// is invalid. Without one, `iss` is neither written nor checked.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// simplejwt's `AUDIENCE`: issued tokens carry it as `aud`, and a token whose `aud` (a
    /// string or a list of strings) does not name it is invalid. Without one, `aud` is neither
    /// written nor checked.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// simplejwt's `LEEWAY`: how far `exp`, `nbf` and `iat` may be off, for servers whose
    /// clocks differ a little.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = to_time_delta(leeway);
        self
    }

    fn lifetime(&self, token_type: TokenType) -> TimeDelta {
        match token_type {
            TokenType::Access => self.access_lifetime,
            TokenType::Refresh => self.refresh_lifetime,
        }
    }
}

fn to_time_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// A whole-second instant, as JWT claims carry them.
fn whole_seconds(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// A NumericDate claim, fractions dropped; `None` when it is not a finite, representable time.
fn numeric_date(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || seconds.abs() > 1e15 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    whole_seconds(seconds.floor() as i64)
}

/// The payload as simplejwt writes it; field order is the order on the wire (simplejwt's
/// `TokenBackend.encode` appends `aud`, then `iss`, when they are configured).
#[derive(Serialize)]
struct OutgoingClaims<'a> {
    token_type: &'static str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    user_id: String,
    /// The session; absent from tokens without one, so those stay byte-identical to simplejwt's.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
}

/// The payload as accepted: every claim is checked by hand, so that a missing one is `Invalid`
/// in the order the port prescribes rather than a generic parse failure.
#[derive(Deserialize)]
struct IncomingClaims {
    token_type: Option<String>,
    // NumericDates may carry a fraction (RFC 7519 §2); PyJWT accepts them.
    exp: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
    user_id: Option<UserIdClaim>,
    sid: Option<Value>,
    // Read as any JSON so that an odd value is a refusal only when it is checked.
    iss: Option<Value>,
    aud: Option<Value>,
}

/// PyJWT's `aud` rule: the claim is a string or a list of strings, one of which is `expected`.
fn names_audience(claim: Option<&Value>, expected: &str) -> bool {
    match claim {
        Some(Value::String(audience)) => audience == expected,
        Some(Value::Array(audiences)) => {
            audiences.iter().all(Value::is_string)
                && audiences.iter().any(|audience| audience == expected)
        }
        _ => false,
    }
}

/// `user_id` is a string of digits in simplejwt 5.4 and later, an integer before.
#[derive(Deserialize)]
#[serde(untagged)]
enum UserIdClaim {
    Text(String),
    Number(u64),
}

impl UserIdClaim {
    fn parse(&self) -> Option<UserId> {
        let id = match self {
            Self::Text(digits)
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                digits.parse().ok()?
            }
            Self::Text(_) => return None,
            Self::Number(number) => i64::try_from(*number).ok()?,
        };
        Some(UserId::new(id))
    }
}

impl JwtCodec {
    /// The token for exactly these claims (times in whole seconds, as they travel).
    fn sign(&self, claims: &TokenClaims) -> Result<String, IssueError> {
        let payload = serde_json::to_vec(&OutgoingClaims {
            token_type: claims.token_type.as_str(),
            exp: claims.expires_at.timestamp(),
            iat: claims.issued_at.timestamp(),
            jti: claims.id.as_str(),
            user_id: claims.user_id.get().to_string(),
            sid: claims.session_id.as_ref().map(SessionId::as_str),
            aud: self.audience.as_deref(),
            iss: self.issuer.as_deref(),
        })
        .map_err(|error| IssueError(error.to_string()))?;
        let message = format!(
            "{}.{}",
            self.encoded_header,
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, Algorithm::HS256)
                .map_err(|error| IssueError(error.to_string()))?;
        Ok(format!("{message}.{signature}"))
    }
}

impl TokenCodec for JwtCodec {
    fn issue(
        &self,
        token_type: TokenType,
        user_id: UserId,
        session_id: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError> {
        let out_of_range = || IssueError("token times out of range".to_owned());
        let iat = now.timestamp();
        let exp = now
            .checked_add_signed(self.lifetime(token_type))
            .ok_or_else(out_of_range)?
            .timestamp();
        let jti = Uuid::new_v4().simple().to_string();
        let claims = TokenClaims {
            token_type,
            id: TokenId::parse(&jti).ok_or_else(|| IssueError("unusable token id".to_owned()))?,
            user_id,
            issued_at: whole_seconds(iat).ok_or_else(out_of_range)?,
            expires_at: whole_seconds(exp).ok_or_else(out_of_range)?,
            session_id,
        };
        Ok(IssuedToken {
            token: self.sign(&claims)?,
            claims,
        })
    }

    fn encode(&self, claims: &TokenClaims) -> Result<String, IssueError> {
        self.sign(claims)
    }

    fn decode(
        &self,
        token: &str,
        expected: TokenType,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, TokenProblem> {
        // Signature and algorithm: only HS256 is in `validation.algorithms`.
        let decoded =
            jsonwebtoken::decode::<IncomingClaims>(token, &self.decoding, &self.validation)
                .map_err(|_| TokenProblem::Invalid)?;
        // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` names an extension it
        // does not understand, and this one understands none. jsonwebtoken reads the header
        // but leaves `crit` to the caller.
        if decoded.header.crit.is_some() {
            return Err(TokenProblem::Invalid);
        }
        let claims = decoded.claims;

        let expires_at = claims
            .exp
            .and_then(numeric_date)
            .ok_or(TokenProblem::Invalid)?;
        // simplejwt's rule: a token is expired from the second its `exp` names, or that many
        // seconds of leeway later.
        // (A leeway that overflows a date is wider than any token's life.)
        if expires_at
            .checked_add_signed(self.leeway)
            .is_some_and(|end| end <= now)
        {
            return Err(TokenProblem::Expired);
        }
        // PyJWT refuses a token that is not valid yet, by `nbf` or by an `iat` in the future.
        for not_before in [claims.nbf, claims.iat].into_iter().flatten() {
            match numeric_date(not_before) {
                Some(at)
                    if at
                        .checked_sub_signed(self.leeway)
                        .is_none_or(|start| start <= now) => {}
                _ => return Err(TokenProblem::Invalid),
            }
        }
        if let Some(issuer) = &self.issuer
            && claims.iss.as_ref().and_then(Value::as_str) != Some(issuer.as_str())
        {
            return Err(TokenProblem::Invalid);
        }
        if let Some(audience) = &self.audience
            && !names_audience(claims.aud.as_ref(), audience)
        {
            return Err(TokenProblem::Invalid);
        }

        // simplejwt: no `token_type` is "Token has no type" (reported here as invalid); any other
        // value than the expected one is the wrong type.
        let token_type = claims.token_type.as_deref().ok_or(TokenProblem::Invalid)?;
        let token_type = TokenType::parse(token_type)
            .filter(|token_type| *token_type == expected)
            .ok_or(TokenProblem::WrongType)?;

        Ok(TokenClaims {
            token_type,
            id: claims
                .jti
                .as_deref()
                .and_then(TokenId::parse)
                .ok_or(TokenProblem::Invalid)?,
            user_id: claims
                .user_id
                .as_ref()
                .and_then(UserIdClaim::parse)
                .ok_or(TokenProblem::Invalid)?,
            // simplejwt does not require `iat`; the only use of it here is as a record's
            // issue time.
            issued_at: claims.iat.and_then(numeric_date).unwrap_or(now),
            expires_at,
            // A `sid` that is there must be a session id; absent is a token from before sessions.
            session_id: match &claims.sid {
                None => None,
                Some(sid) => Some(
                    sid.as_str()
                        .and_then(SessionId::parse)
                        .ok_or(TokenProblem::Invalid)?,
                ),
            },
        })
    }
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &Algorithm::HS256)
            .field("access_lifetime", &self.access_lifetime)
            .field("refresh_lifetime", &self.refresh_lifetime)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Formatter;

    use chrono::TimeZone as _;
    use serde::Deserializer;
    use serde::de::{MapAccess, Visitor};
    use serde_json::{Value, json};

    use super::*;

    const SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256";
    const ACCESS: Duration = Duration::from_secs(60 * 60);
    const REFRESH: Duration = Duration::from_secs(24 * 60 * 60);

    // Issued by djangorestframework-simplejwt 5.5.1 (PyJWT 2.15.1, Django 5.2.19) with
    // SECRET_KEY="django-insecure-test-secret-for-vectors" and default lifetimes:
    // r = RefreshToken.for_user(user_with_pk_42); print(r); print(r.access_token)
    const SIMPLEJWT_SECRET: &[u8] = b"django-insecure-test-secret-for-vectors";
    const SIMPLEJWT_IAT: i64 = 1_795_523_165;
    const SIMPLEJWT_REFRESH: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc5NTYwOTU2NSwiaWF0IjoxNzk1NTIzMTY1LCJqdGkiOiI3MjdhMjhkMjI5OWE0ZjdkYmM5Mzc0NTU0ZjEyNmJiMSIsInVzZXJfaWQiOiI0MiJ9.khbIo5ang6teDPQCqZQGn0_Nw51nD5wdrhKI_3YT5OQ";
    const SIMPLEJWT_ACCESS: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk1NTIzNDY1LCJpYXQiOjE3OTU1MjMxNjUsImp0aSI6IjY0NTQ2ZGRkMTU3YjQ0NTI5NjI0Y2M1OTYxMTQyZTdhIiwidXNlcl9pZCI6IjQyIn0.pU-9yG6NxpBBdmPmV2kFlQ_uESaQt__Gd0Pq5et9gBg";

    fn codec() -> JwtCodec {
        JwtCodec::new(SECRET, ACCESS, REFRESH)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 21, 10, 0, 0)
            .single()
            .expect("a valid date")
    }

    fn issue(token_type: TokenType) -> IssuedToken {
        codec()
            .issue(token_type, UserId::new(7), None, now())
            .expect("issues")
    }

    fn segment(token: &str, index: usize) -> String {
        let part = token.split('.').nth(index).expect("three segments");
        String::from_utf8(URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("UTF-8")
    }

    /// A token with the given header and payload, HS256-signed with `secret`.
    fn signed(secret: &[u8], header: &str, payload: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .expect("signs");
        format!("{message}.{signature}")
    }

    fn valid_payload() -> Value {
        json!({
            "token_type": "access",
            "exp": now().timestamp() + 300,
            "iat": now().timestamp(),
            "jti": "0123456789abcdef0123456789abcdef",
            "user_id": "7",
        })
    }

    /// The keys of a JSON object in the order they appear.
    struct OrderedKeys(Vec<(String, Value)>);

    impl<'de> Deserialize<'de> for OrderedKeys {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Entries;
            impl<'de> Visitor<'de> for Entries {
                type Value = OrderedKeys;
                fn expecting(&self, f: &mut Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<OrderedKeys, M::Error> {
                    let mut entries = Vec::new();
                    while let Some(entry) = map.next_entry::<String, Value>()? {
                        entries.push(entry);
                    }
                    Ok(OrderedKeys(entries))
                }
            }
            deserializer.deserialize_map(Entries)
        }
    }

    #[test]
    fn access_and_refresh_tokens_round_trip_with_their_lifetimes() {
        for (token_type, lifetime) in [
            (TokenType::Access, TimeDelta::hours(1)),
            (TokenType::Refresh, TimeDelta::days(1)),
        ] {
            let issued = issue(token_type);
            let decoded = codec()
                .decode(&issued.token, token_type, now())
                .expect("valid");
            assert_eq!(decoded, issued.claims);
            assert_eq!(decoded.token_type, token_type);
            assert_eq!(decoded.user_id, UserId::new(7));
            assert_eq!(decoded.issued_at, now());
            assert_eq!(decoded.expires_at, now() + lifetime);
        }
    }

    #[test]
    fn the_header_is_exactly_hs256_then_jwt() {
        assert_eq!(segment(&issue(TokenType::Access).token, 0), HEADER);
    }

    #[test]
    fn the_payload_has_exactly_simplejwts_five_keys_in_order() {
        let issued = issue(TokenType::Refresh);
        let payload: OrderedKeys =
            serde_json::from_str(&segment(&issued.token, 1)).expect("a JSON object");
        let keys: Vec<&str> = payload.0.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
        let values: Vec<&Value> = payload.0.iter().map(|(_, value)| value).collect();
        assert_eq!(values[0], &json!("refresh"));
        assert_eq!(values[1], &json!(now().timestamp() + 86_400));
        assert_eq!(values[2], &json!(now().timestamp()));
        assert_eq!(values[4], &json!("7"));
        let jti = values[3].as_str().expect("a string");
        assert_eq!(jti.len(), 32);
        assert!(
            jti.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{jti}"
        );
        assert_eq!(issued.claims.id.as_str(), jti);
    }

    #[test]
    fn each_token_gets_its_own_id() {
        assert_ne!(
            issue(TokenType::Access).claims.id,
            issue(TokenType::Access).claims.id
        );
    }

    #[test]
    fn issuing_uses_the_given_time_not_the_system_clock() {
        let long_ago = Utc
            .with_ymd_and_hms(2001, 2, 3, 4, 5, 6)
            .single()
            .expect("a valid date");
        let issued = codec()
            .issue(TokenType::Access, UserId::new(1), None, long_ago)
            .expect("issues");
        assert_eq!(issued.claims.issued_at, long_ago);
        assert_eq!(issued.claims.expires_at, long_ago + TimeDelta::hours(1));
        assert!(
            codec()
                .decode(&issued.token, TokenType::Access, long_ago)
                .is_ok()
        );
    }

    #[test]
    fn a_tampered_payload_is_invalid() {
        let token = issue(TokenType::Access).token;
        let parts: Vec<&str> = token.split('.').collect();
        let forged = segment(&token, 1).replace(r#""user_id":"7""#, r#""user_id":"1""#);
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged),
            parts[2]
        );
        assert_eq!(
            codec().decode(&tampered, TokenType::Access, now()),
            Err(TokenProblem::Invalid)
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid_even_after_its_expiry() {
        let token = JwtCodec::new(b"another-secret", ACCESS, REFRESH)
            .issue(TokenType::Access, UserId::new(7), None, now())
            .expect("issues")
            .token;
        for at in [now(), now() + TimeDelta::days(365)] {
            assert_eq!(
                codec().decode(&token, TokenType::Access, at),
                Err(TokenProblem::Invalid),
                "at {at}"
            );
        }
    }

    #[test]
    fn an_unsigned_alg_none_token_is_invalid() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(valid_payload().to_string());
        let real_signature = signed(SECRET, HEADER, &valid_payload())
            .rsplit('.')
            .next()
            .expect("a signature")
            .to_owned();
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
            format!("{header}.{payload}.{real_signature}"),
        ] {
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{token}"
            );
        }
    }

    #[test]
    fn an_hs512_token_signed_with_the_same_secret_is_invalid() {
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS512),
            &valid_payload(),
            &EncodingKey::from_secret(SECRET),
        )
        .expect("encodes");
        assert_eq!(
            codec().decode(&token, TokenType::Access, now()),
            Err(TokenProblem::Invalid)
        );
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            "...",
            "eyJhbGciOiJIUzI1NiJ9.e30.",
            "a b c",
        ] {
            assert_eq!(
                codec().decode(token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{token:?}"
            );
        }
    }

    #[test]
    fn a_token_is_expired_exactly_at_its_exp_and_valid_one_second_before() {
        let issued = issue(TokenType::Access);
        let exp = issued.claims.expires_at;
        assert_eq!(
            codec().decode(&issued.token, TokenType::Access, exp),
            Err(TokenProblem::Expired)
        );
        assert_eq!(
            codec().decode(
                &issued.token,
                TokenType::Access,
                exp - TimeDelta::seconds(1)
            ),
            Ok(issued.claims)
        );
    }

    #[test]
    fn expiry_is_reported_before_the_wrong_type() {
        let issued = issue(TokenType::Refresh);
        assert_eq!(
            codec().decode(&issued.token, TokenType::Access, issued.claims.expires_at),
            Err(TokenProblem::Expired)
        );
    }

    #[test]
    fn a_token_of_one_type_is_refused_as_the_other() {
        for (issued, expected) in [
            (TokenType::Refresh, TokenType::Access),
            (TokenType::Access, TokenType::Refresh),
        ] {
            assert_eq!(
                codec().decode(&issue(issued).token, expected, now()),
                Err(TokenProblem::WrongType),
                "{issued} as {expected}"
            );
        }
    }

    #[test]
    fn a_token_with_an_integer_user_id_decodes() {
        let mut payload = valid_payload();
        payload["user_id"] = json!(7);
        let token = signed(SECRET, HEADER, &payload);
        let claims = codec()
            .decode(&token, TokenType::Access, now())
            .expect("valid");
        assert_eq!(claims.user_id, UserId::new(7));
    }

    #[test]
    fn a_token_with_a_header_in_jsonwebtokens_order_decodes() {
        let token = signed(SECRET, r#"{"typ":"JWT","alg":"HS256"}"#, &valid_payload());
        assert!(codec().decode(&token, TokenType::Access, now()).is_ok());
    }

    #[test]
    fn a_token_missing_a_claim_is_invalid() {
        for claim in ["jti", "user_id", "exp", "token_type"] {
            let mut payload = valid_payload();
            payload.as_object_mut().expect("an object").remove(claim);
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "without {claim}"
            );
        }
    }

    #[test]
    fn a_token_without_iat_decodes_as_simplejwt_allows() {
        let mut payload = valid_payload();
        payload.as_object_mut().expect("an object").remove("iat");
        let token = signed(SECRET, HEADER, &payload);
        assert!(codec().decode(&token, TokenType::Access, now()).is_ok());
    }

    #[test]
    fn an_unknown_token_type_is_the_wrong_type() {
        let mut payload = valid_payload();
        payload["token_type"] = json!("sliding");
        let token = signed(SECRET, HEADER, &payload);
        assert_eq!(
            codec().decode(&token, TokenType::Access, now()),
            Err(TokenProblem::WrongType)
        );
    }

    #[test]
    fn a_token_not_valid_yet_by_nbf_or_iat_is_invalid() {
        let future = now().timestamp() + 60;
        for claim in ["nbf", "iat"] {
            let mut payload = valid_payload();
            payload[claim] = json!(future);
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{claim} in the future"
            );
        }
    }

    #[test]
    fn fractional_numeric_dates_are_accepted() {
        let mut payload = valid_payload();
        payload["exp"] = json!(payload["exp"].as_f64().expect("a number") + 0.5);
        payload["iat"] = json!(payload["iat"].as_f64().expect("a number") + 0.25);
        let token = signed(SECRET, HEADER, &payload);
        assert!(codec().decode(&token, TokenType::Access, now()).is_ok());
    }

    #[test]
    fn a_token_with_a_malformed_claim_is_invalid() {
        for (claim, value) in [
            ("token_type", json!(1)),
            ("jti", json!("")),
            ("jti", json!(12)),
            ("user_id", json!("")),
            ("user_id", json!("abc")),
            ("user_id", json!("-7")),
            ("user_id", json!("+7")),
            ("user_id", json!(-7)),
            ("user_id", json!(7.5)),
            ("user_id", json!("99999999999999999999")),
            ("exp", json!("1795523465")),
            ("exp", json!(null)),
            ("iat", json!("yesterday")),
        ] {
            let mut payload = valid_payload();
            payload[claim] = value.clone();
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{claim}: {value}"
            );
        }
    }

    #[test]
    fn tokens_issued_by_simplejwt_decode() {
        let codec = JwtCodec::new(SIMPLEJWT_SECRET, ACCESS, REFRESH);
        let at = whole_seconds(SIMPLEJWT_IAT).expect("in range");
        let refresh = codec
            .decode(SIMPLEJWT_REFRESH, TokenType::Refresh, at)
            .expect("valid");
        assert_eq!(refresh.user_id, UserId::new(42));
        assert_eq!(refresh.id.as_str(), "727a28d2299a4f7dbc9374554f126bb1");
        assert_eq!(refresh.issued_at, at);
        assert_eq!(refresh.expires_at, at + TimeDelta::days(1));
        let access = codec
            .decode(SIMPLEJWT_ACCESS, TokenType::Access, at)
            .expect("valid");
        assert_eq!(access.user_id, UserId::new(42));
        assert_eq!(access.expires_at, at + TimeDelta::minutes(5));
    }

    #[test]
    fn a_session_travels_as_sid_after_user_id_and_comes_back() {
        let sid = SessionId::parse("0123456789abcdef0123456789abcdef").expect("hex");
        let issued = codec()
            .issue(TokenType::Refresh, UserId::new(7), Some(sid.clone()), now())
            .expect("issues");
        assert_eq!(
            payload_keys(&issued.token),
            ["token_type", "exp", "iat", "jti", "user_id", "sid"]
        );
        let decoded = codec()
            .decode(&issued.token, TokenType::Refresh, now())
            .expect("decodes");
        assert_eq!(decoded.session_id, Some(sid));
        assert_eq!(decoded, issued.claims);
    }

    #[test]
    fn signing_the_same_claims_again_gives_the_same_token_byte_for_byte() {
        let sid = SessionId::parse("ab").expect("hex");
        let issued = codec()
            .issue(TokenType::Refresh, UserId::new(7), Some(sid), now())
            .expect("issues");
        assert_eq!(codec().encode(&issued.claims).expect("signs"), issued.token);
        let decoded = codec()
            .decode(&issued.token, TokenType::Refresh, now())
            .expect("decodes");
        assert_eq!(codec().encode(&decoded).expect("signs"), issued.token);
    }

    #[test]
    fn a_sid_that_is_not_a_session_id_is_invalid() {
        for sid in [json!(""), json!("XYZ"), json!(7)] {
            let mut payload = valid_payload();
            payload["sid"] = sid.clone();
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{sid}"
            );
        }
    }

    #[test]
    fn a_token_with_a_crit_header_is_invalid() {
        for header in [
            r#"{"alg":"HS256","crit":["exp"],"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["b64"],"b64":false,"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":[],"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":"exp","typ":"JWT"}"#,
        ] {
            let token = signed(SECRET, header, &valid_payload());
            assert_eq!(
                codec().decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "{header}"
            );
        }
    }

    const ISSUER: &str = "https://auth.example.com";
    const AUDIENCE: &str = "web-app";

    fn payload_keys(token: &str) -> Vec<String> {
        let payload: OrderedKeys = serde_json::from_str(&segment(token, 1)).expect("an object");
        payload.0.into_iter().map(|(key, _)| key).collect()
    }

    #[test]
    fn with_an_issuer_and_audience_tokens_carry_them_after_simplejwts_claims() {
        let codec = codec().with_audience(AUDIENCE).with_issuer(ISSUER);
        let issued = codec
            .issue(TokenType::Refresh, UserId::new(7), None, now())
            .expect("issues");
        assert_eq!(
            payload_keys(&issued.token),
            ["token_type", "exp", "iat", "jti", "user_id", "aud", "iss"]
        );
        let payload: Value = serde_json::from_str(&segment(&issued.token, 1)).expect("JSON");
        assert_eq!(
            (&payload["aud"], &payload["iss"]),
            (&json!(AUDIENCE), &json!(ISSUER))
        );
        assert_eq!(
            codec.decode(&issued.token, TokenType::Refresh, now()),
            Ok(issued.claims)
        );
    }

    #[test]
    fn with_an_issuer_a_token_without_it_or_with_another_is_invalid() {
        let codec = codec().with_issuer(ISSUER);
        for issuer in [
            None,
            Some(json!("https://evil.example")),
            Some(json!(1)),
            Some(json!([ISSUER])),
        ] {
            let mut payload = valid_payload();
            if let Some(issuer) = &issuer {
                payload["iss"] = issuer.clone();
            }
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec.decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "iss {issuer:?}"
            );
        }
        let mut payload = valid_payload();
        payload["iss"] = json!(ISSUER);
        let token = signed(SECRET, HEADER, &payload);
        assert!(codec.decode(&token, TokenType::Access, now()).is_ok());
    }

    #[test]
    fn with_an_audience_a_token_must_name_it_as_a_string_or_in_a_list() {
        let codec = codec().with_audience(AUDIENCE);
        for audience in [json!(AUDIENCE), json!(["other", AUDIENCE])] {
            let mut payload = valid_payload();
            payload["aud"] = audience.clone();
            let token = signed(SECRET, HEADER, &payload);
            assert!(
                codec.decode(&token, TokenType::Access, now()).is_ok(),
                "aud {audience}"
            );
        }
        for audience in [
            None,
            Some(json!("other")),
            Some(json!([])),
            Some(json!(["other"])),
            Some(json!([AUDIENCE, 1])),
            Some(json!(7)),
            Some(json!(null)),
        ] {
            let mut payload = valid_payload();
            if let Some(audience) = &audience {
                payload["aud"] = audience.clone();
            }
            let token = signed(SECRET, HEADER, &payload);
            assert_eq!(
                codec.decode(&token, TokenType::Access, now()),
                Err(TokenProblem::Invalid),
                "aud {audience:?}"
            );
        }
    }

    #[test]
    fn without_an_issuer_or_audience_those_claims_are_ignored() {
        let mut payload = valid_payload();
        payload["iss"] = json!("https://anyone.example");
        payload["aud"] = json!(["whoever", 5]);
        let token = signed(SECRET, HEADER, &payload);
        assert!(codec().decode(&token, TokenType::Access, now()).is_ok());
        assert_eq!(
            payload_keys(&issue(TokenType::Access).token),
            ["token_type", "exp", "iat", "jti", "user_id"]
        );
    }

    #[test]
    fn leeway_accepts_a_token_that_expired_or_starts_within_it() {
        let codec = codec().with_leeway(Duration::from_secs(30));
        let issued = issue(TokenType::Access);
        let exp = issued.claims.expires_at;
        assert_eq!(
            codec.decode(
                &issued.token,
                TokenType::Access,
                exp + TimeDelta::seconds(29)
            ),
            Ok(issued.claims)
        );
        assert_eq!(
            codec.decode(
                &issued.token,
                TokenType::Access,
                exp + TimeDelta::seconds(30)
            ),
            Err(TokenProblem::Expired)
        );
        for claim in ["nbf", "iat"] {
            for (ahead, accepted) in [(30, true), (31, false)] {
                let mut payload = valid_payload();
                payload[claim] = json!(now().timestamp() + ahead);
                let token = signed(SECRET, HEADER, &payload);
                assert_eq!(
                    codec.decode(&token, TokenType::Access, now()).is_ok(),
                    accepted,
                    "{claim} {ahead} s ahead"
                );
            }
        }
    }

    #[test]
    fn a_leeway_too_long_for_a_date_accepts_rather_than_panics() {
        let codec = codec().with_leeway(Duration::MAX);
        let issued = issue(TokenType::Access);
        let much_later = now() + TimeDelta::days(365 * 100);
        assert!(
            codec
                .decode(&issued.token, TokenType::Access, much_later)
                .is_ok()
        );
    }

    #[test]
    fn debug_output_does_not_show_the_secret() {
        let shown = format!("{:?}", codec());
        assert!(!shown.contains("test-secret"), "{shown}");
        assert!(shown.contains("HS256"), "{shown}");
    }
}
