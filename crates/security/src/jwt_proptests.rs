//! Property tests for JWT decoding, the parser every authenticated request goes through:
//! whatever the token, `decode` never panics and answers with one of the token problems the API
//! turns into its 401; and what it accepts is exactly what was signed with the key.

use std::time::Duration;

use application::ports::{TokenCodec, TokenProblem};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone as _, Utc};
use domain::TokenType;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::JwtCodec;

const SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256";

static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn codec() -> JwtCodec {
    JwtCodec::new(
        SECRET,
        Duration::from_secs(3600),
        Duration::from_secs(86_400),
    )
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000, 0)
        .single()
        .expect("a time")
}

fn refused(result: &Result<domain::TokenClaims, TokenProblem>) -> bool {
    matches!(
        result,
        Err(TokenProblem::Invalid | TokenProblem::Expired | TokenProblem::WrongType)
    )
}

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (1_799_990_000_i64..1_800_010_000).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(Value::String("access".into())),
        Just(Value::String("refresh".into())),
        Just(Value::String("0123456789abcdef0123456789abcdef".into())),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..3)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Claims with any of the names the codec reads, holding any JSON values.
fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let names = prop::sample::select(vec![
        "token_type",
        "exp",
        "iat",
        "nbf",
        "jti",
        "user_id",
        "sid",
        "aud",
        "iss",
        "other",
    ]);
    // Well-formed claims, some of them then replaced, removed or added to: so that both what is
    // accepted and what is refused are reached.
    let well_formed = prop::sample::select(vec!["access", "refresh"]).prop_map(|token_type| {
        let mut claims = Map::new();
        claims.insert("token_type".into(), Value::from(token_type));
        claims.insert("exp".into(), Value::from(now().timestamp() + 100));
        claims.insert("iat".into(), Value::from(now().timestamp() - 10));
        claims.insert(
            "jti".into(),
            Value::from("0123456789abcdef0123456789abcdef"),
        );
        claims.insert("user_id".into(), Value::from(7));
        claims
    });
    (
        well_formed,
        prop::collection::vec((names.clone(), json_value()), 0..3),
        prop::collection::vec(names, 0..2),
    )
        .prop_map(|(mut claims, changes, removals)| {
            for (name, value) in changes {
                claims.insert(name.to_owned(), value);
            }
            for name in removals {
                claims.remove(name);
            }
            claims
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_refused_without_a_panic(token in "[ -~]{0,120}") {
        let result = codec().decode(&token, TokenType::Access, now());
        prop_assert!(refused(&result), "{result:?}");
    }

    #[test]
    fn three_segments_of_any_bytes_are_refused(
        header in prop::collection::vec(any::<u8>(), 0..40),
        payload in prop::collection::vec(any::<u8>(), 0..80),
        signature in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let token = [header, payload, signature]
            .iter()
            .map(|part| URL_SAFE_NO_PAD.encode(part))
            .collect::<Vec<_>>()
            .join(".");
        let result = codec().decode(&token, TokenType::Refresh, now());
        prop_assert!(refused(&result), "{result:?}");
    }

    /// Signed with the right key but holding anything: decoded only when every claim is
    /// well formed, and then as what it says.
    #[test]
    fn any_claims_under_the_right_key_decode_only_when_well_formed(
        claims in claims(),
        expected in prop::sample::select(vec![TokenType::Access, TokenType::Refresh]),
    ) {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("signs");
        let result = codec().decode(&token, expected, now());
        // Counted so that a generator that never reaches acceptance fails the test.
        ACCEPTED.fetch_add(usize::from(result.is_ok()), std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(decoded) => {
                prop_assert_eq!(decoded.token_type, expected);
                prop_assert_eq!(
                    claims.get("token_type").and_then(Value::as_str),
                    Some(expected.as_str())
                );
                prop_assert!(decoded.expires_at > now());
                prop_assert_eq!(
                    claims.get("jti").and_then(Value::as_str),
                    Some(decoded.id.as_str())
                );
            }
            Err(problem) => prop_assert!(
                matches!(
                    problem,
                    TokenProblem::Invalid | TokenProblem::Expired | TokenProblem::WrongType
                ),
                "{problem:?}"
            ),
        }
    }

    /// A token the codec issued, with one character changed anywhere, is refused.
    #[test]
    fn one_changed_character_is_refused(index in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_.=-]") {
        let codec = codec();
        let issued = codec
            .issue(TokenType::Access, domain::UserId::new(7), None, now())
            .expect("issues");
        let mut token: Vec<char> = issued.token.chars().collect();
        let at = index.index(token.len());
        let replacement = replacement.chars().next().expect("one character");
        prop_assume!(token[at] != replacement);
        token[at] = replacement;
        let token: String = token.into_iter().collect();
        let result = codec.decode(&token, TokenType::Access, now());
        prop_assert!(refused(&result), "{token} decoded: {result:?}");
    }
}

#[test]
fn the_claims_generator_reaches_acceptance() {
    // proptest runs its cases inside the one test function; run it here too, then count.
    any_claims_under_the_right_key_decode_only_when_well_formed();
    assert!(
        ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no generated token was ever accepted: the property checks nothing it accepts"
    );
}
