//! Decoding the claims of a LiveKit access token, without verifying its signature.
//!
//! A client cannot verify a token (it does not have the API secret) and does not need to: it
//! only reads the claims to decide whether a cached token is still usable and whether it asks
//! for an agent. LiveKit tokens write their claims in camelCase (`roomConfig`, `roomJoin`,
//! `agentName`); snake_case spellings are accepted too.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use serde::{Deserialize, Deserializer};

use crate::error::{ClaimsError, describe_json_error};

/// The claims of a LiveKit access token (a JWT), decoded without verifying the signature.
///
/// ```
/// use token_source::TokenClaims;
///
/// // header {"alg":"HS256"}, payload {"sub":"alice","exp":2000000000,"roomConfig":{"agents":[{"agentName":"a"}]}}
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwicm9vbUNvbmZpZyI6eyJhZ2VudHMiOlt7ImFnZW50TmFtZSI6ImEifV19fQ.c2ln";
/// let claims = TokenClaims::decode(token)?;
/// assert_eq!(claims.identity.as_deref(), Some("alice"));
/// assert_eq!(claims.exp, Some(2_000_000_000));
/// assert!(claims.dispatches_agent());
/// # Ok::<(), token_source::ClaimsError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TokenClaims {
    /// Expiry, in seconds since the Unix epoch (`exp`).
    #[serde(deserialize_with = "numeric_date")]
    pub exp: Option<i64>,
    /// Not-before, in seconds since the Unix epoch (`nbf`).
    #[serde(deserialize_with = "numeric_date")]
    pub nbf: Option<i64>,
    /// Issued-at, in seconds since the Unix epoch (`iat`).
    #[serde(deserialize_with = "numeric_date")]
    pub iat: Option<i64>,
    /// The issuer: the API key that signed the token (`iss`).
    pub iss: Option<String>,
    /// The participant identity (`sub`).
    #[serde(rename = "sub")]
    pub identity: Option<String>,
    /// The participant's display name.
    pub name: Option<String>,
    /// The participant's metadata.
    pub metadata: Option<String>,
    /// The participant's attributes.
    pub attributes: BTreeMap<String, String>,
    /// The participant kind, when set (for example `agent`).
    pub kind: Option<String>,
    /// The room permissions (`video`).
    pub video: Option<VideoGrant>,
    /// The room configuration to apply when the room is created (`roomConfig`).
    #[serde(alias = "room_config", rename = "roomConfig")]
    pub room_config: Option<RoomConfiguration>,
}

/// Room permissions of a token (the `video` claim). Unset grants are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct VideoGrant {
    /// The room the grant applies to.
    pub room: Option<String>,
    /// May join the room.
    #[serde(alias = "room_join")]
    pub room_join: Option<bool>,
    /// May create rooms.
    #[serde(alias = "room_create")]
    pub room_create: Option<bool>,
    /// May list rooms.
    #[serde(alias = "room_list")]
    pub room_list: Option<bool>,
    /// May record rooms.
    #[serde(alias = "room_record")]
    pub room_record: Option<bool>,
    /// May administer the room.
    #[serde(alias = "room_admin")]
    pub room_admin: Option<bool>,
    /// May publish tracks.
    #[serde(alias = "can_publish")]
    pub can_publish: Option<bool>,
    /// May subscribe to tracks.
    #[serde(alias = "can_subscribe")]
    pub can_subscribe: Option<bool>,
    /// May publish data.
    #[serde(alias = "can_publish_data")]
    pub can_publish_data: Option<bool>,
    /// The track sources the participant may publish.
    #[serde(alias = "can_publish_sources")]
    pub can_publish_sources: Option<Vec<String>>,
    /// May update its own metadata.
    #[serde(alias = "can_update_own_metadata")]
    pub can_update_own_metadata: Option<bool>,
    /// Hidden from other participants.
    pub hidden: Option<bool>,
    /// Is a recorder.
    pub recorder: Option<bool>,
    /// Is an agent.
    pub agent: Option<bool>,
}

/// The room configuration carried by a token (`roomConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RoomConfiguration {
    /// The room name.
    pub name: Option<String>,
    /// The agents to dispatch when the room is created.
    pub agents: Vec<RoomAgentDispatch>,
}

/// One agent dispatch in a token's room configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RoomAgentDispatch {
    /// The agent's name.
    #[serde(alias = "agentName")]
    pub agent_name: Option<String>,
    /// Metadata for the agent job.
    pub metadata: Option<String>,
    /// The deployment to dispatch from.
    pub deployment: Option<String>,
}

impl TokenClaims {
    /// Decodes the payload of `token` without verifying its signature.
    ///
    /// Never panics: anything that is not a JWT with a JSON-object payload is a [`ClaimsError`].
    pub fn decode(token: &str) -> Result<Self, ClaimsError> {
        #[cfg(test)]
        tests::DECODES.with(|count| count.set(count.get() + 1));
        let mut parts = token.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ClaimsError::NotAJwt);
        };
        let payload = payload.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ClaimsError::InvalidBase64)?;
        serde_json::from_slice(&bytes)
            .map_err(|error| ClaimsError::InvalidJson { reason: describe_json_error(&error) })
    }

    /// When the token expires, if it has an `exp` claim.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.exp.and_then(unix_time)
    }

    /// When the token becomes valid, if it has an `nbf` claim.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.nbf.and_then(unix_time)
    }

    /// Whether the token asks LiveKit to dispatch at least one agent into the room.
    pub fn dispatches_agent(&self) -> bool {
        self.room_config.as_ref().is_some_and(|config| !config.agents.is_empty())
    }
}

/// A Unix timestamp as a `SystemTime`, or `None` if it cannot be represented.
pub(crate) fn unix_time(seconds: i64) -> Option<SystemTime> {
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

/// A JWT NumericDate: an integer or a fractional number of seconds (truncated towards the past).
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Numeric {
        Int(i64),
        Float(f64),
    }
    Ok(match Option::<Numeric>::deserialize(deserializer)? {
        None => None,
        Some(Numeric::Int(seconds)) => Some(seconds),
        // `as` saturates out-of-range values and maps NaN to 0; serde_json never yields NaN.
        Some(Numeric::Float(seconds)) => Some(seconds.floor() as i64),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use proptest::prelude::*;

    use super::*;

    thread_local! {
        /// How many times `decode` ran on this thread.
        pub(crate) static DECODES: Cell<usize> = const { Cell::new(0) };
    }

    fn token_with_payload(payload: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", engine.encode(r#"{"alg":"HS256"}"#), engine.encode(payload))
    }

    #[test]
    fn decodes_camel_case_livekit_claims() {
        let token = token_with_payload(
            r#"{"exp":1900000000,"nbf":1800000000,"iss":"APIkey","sub":"alice","name":"Alice",
            "metadata":"m","attributes":{"a":"1"},"kind":"standard",
            "video":{"room":"r","roomJoin":true,"canPublish":false,"canPublishSources":["camera"]},
            "roomConfig":{"name":"r","agents":[{"agentName":"bot","metadata":"x","unknown":1}],"other":2}}"#,
        );
        let claims = TokenClaims::decode(&token).unwrap();
        assert_eq!(claims.exp, Some(1_900_000_000));
        assert_eq!(claims.nbf, Some(1_800_000_000));
        assert_eq!(claims.identity.as_deref(), Some("alice"));
        assert_eq!(claims.name.as_deref(), Some("Alice"));
        assert_eq!(claims.metadata.as_deref(), Some("m"));
        assert_eq!(claims.attributes.get("a").map(String::as_str), Some("1"));
        let video = claims.video.clone().unwrap();
        assert_eq!(video.room.as_deref(), Some("r"));
        assert_eq!(video.room_join, Some(true));
        assert_eq!(video.can_publish, Some(false));
        assert_eq!(video.can_subscribe, None, "unset grants stay unset");
        assert_eq!(video.can_publish_sources, Some(vec!["camera".to_owned()]));
        let config = claims.room_config.clone().unwrap();
        assert_eq!(config.name.as_deref(), Some("r"));
        assert_eq!(config.agents[0].agent_name.as_deref(), Some("bot"));
        assert_eq!(config.agents[0].metadata.as_deref(), Some("x"));
        assert!(claims.dispatches_agent());
        assert_eq!(claims.expires_at(), unix_time(1_900_000_000));
    }

    #[test]
    fn accepts_snake_case_and_fractional_dates() {
        let token = token_with_payload(
            r#"{"exp":1900000000.9,"video":{"room_join":true},"room_config":{"agents":[{"agent_name":"a"}]}}"#,
        );
        let claims = TokenClaims::decode(&token).unwrap();
        assert_eq!(claims.exp, Some(1_900_000_000));
        assert_eq!(claims.video.unwrap().room_join, Some(true));
        assert_eq!(claims.room_config.unwrap().agents[0].agent_name.as_deref(), Some("a"));
    }

    #[test]
    fn dispatches_agent_only_with_a_non_empty_agent_list() {
        let none = TokenClaims::decode(&token_with_payload(r#"{"sub":"x"}"#)).unwrap();
        assert!(!none.dispatches_agent());
        let empty =
            TokenClaims::decode(&token_with_payload(r#"{"roomConfig":{"agents":[]}}"#)).unwrap();
        assert!(!empty.dispatches_agent());
    }

    #[test]
    fn malformed_tokens_are_errors() {
        for token in ["", "opaque-token", "one.two", "one.two.three.four", "invalid.jwt.token"] {
            assert!(TokenClaims::decode(token).is_err(), "{token:?}");
        }
        assert_eq!(TokenClaims::decode("a.!!!not-base64.c"), Err(ClaimsError::InvalidBase64));
        assert!(matches!(
            TokenClaims::decode(&token_with_payload("not json")),
            Err(ClaimsError::InvalidJson { .. })
        ));
        assert!(matches!(
            TokenClaims::decode(&token_with_payload(r#"{"exp":"soon"}"#)),
            Err(ClaimsError::InvalidJson { .. })
        ));
    }

    #[test]
    fn json_errors_do_not_echo_the_payload() {
        let err = TokenClaims::decode(&token_with_payload(r#"{"sub":12345678901234567890123}"#))
            .unwrap_err();
        assert!(!err.to_string().contains("12345678901234567890123"), "{err}");
        let err =
            TokenClaims::decode(&token_with_payload(r#"{"name":["secret-value"]}"#)).unwrap_err();
        assert!(!err.to_string().contains("secret-value"), "{err}");
    }

    #[test]
    fn extreme_dates_do_not_overflow() {
        let claims =
            TokenClaims::decode(&token_with_payload(r#"{"exp":9223372036854775807,"nbf":-5}"#))
                .unwrap();
        let _ = claims.expires_at();
        assert_eq!(claims.not_before(), UNIX_EPOCH.checked_sub(Duration::from_secs(5)));
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_strings(token in ".*") {
            let _ = TokenClaims::decode(&token);
        }

        #[test]
        fn decode_never_panics_on_arbitrary_payloads(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let token = format!("h.{}.s", engine.encode(&payload));
            let _ = TokenClaims::decode(&token);
        }

        #[test]
        fn decode_never_panics_on_json_shaped_payloads(
            exp in any::<f64>(), nbf in any::<i64>(), key in "[a-zA-Z]{1,10}", value in ".{0,10}"
        ) {
            let payload = serde_json::json!({"exp": exp, "nbf": nbf, key: value, "video": {"room": value}});
            let _ = TokenClaims::decode(&token_with_payload(&payload.to_string()));
        }
    }
}
