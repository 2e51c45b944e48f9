//! [`TokenSourceResponse`]: the credentials a token source produces, and their JSON wire form.

use std::{fmt, sync::Arc};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{
    claims::TokenClaims,
    error::{ClaimsError, TokenSourceError, describe_json_error},
    redact::Secret,
};

/// Credentials for joining a room: the server URL and a participant token.
///
/// Cloning is cheap (the strings are shared), which is what makes a cache hit cheap.
/// `Debug` never shows the token.
///
/// ```
/// use token_source::TokenSourceResponse;
///
/// let response = TokenSourceResponse::new("wss://example.livekit.cloud", "eyJ...")
///     .with_room_name("support-room");
/// assert_eq!(response.server_url(), "wss://example.livekit.cloud");
/// assert_eq!(response.room_name(), Some("support-room"));
/// assert!(!format!("{response:?}").contains("eyJ"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSourceResponse {
    inner: Arc<ResponseFields>,
}

#[derive(Clone, PartialEq, Eq)]
struct ResponseFields {
    server_url: String,
    participant_token: String,
    participant_name: Option<String>,
    room_name: Option<String>,
}

impl TokenSourceResponse {
    /// Credentials from a server URL and a participant token.
    pub fn new(server_url: impl Into<String>, participant_token: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(ResponseFields {
                server_url: server_url.into(),
                participant_token: participant_token.into(),
                participant_name: None,
                room_name: None,
            }),
        }
    }

    /// Sets the participant name the token was issued for.
    pub fn with_participant_name(mut self, participant_name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).participant_name = Some(participant_name.into());
        self
    }

    /// Sets the room name the token was issued for.
    pub fn with_room_name(mut self, room_name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).room_name = Some(room_name.into());
        self
    }

    /// The LiveKit server URL to connect to.
    pub fn server_url(&self) -> &str {
        &self.inner.server_url
    }

    /// The participant token (a JWT) to connect with.
    pub fn participant_token(&self) -> &str {
        &self.inner.participant_token
    }

    /// The participant name, when the source reported it.
    pub fn participant_name(&self) -> Option<&str> {
        self.inner.participant_name.as_deref()
    }

    /// The room name, when the source reported it.
    pub fn room_name(&self) -> Option<&str> {
        self.inner.room_name.as_deref()
    }

    /// Decodes the token's claims without verifying the signature (decoded on every call).
    pub fn claims(&self) -> Result<TokenClaims, ClaimsError> {
        TokenClaims::decode(self.participant_token())
    }

    /// Whether the token asks LiveKit to dispatch an agent into the room (`roomConfig.agents` is
    /// not empty). A token whose claims cannot be decoded dispatches nothing.
    pub fn dispatches_agent(&self) -> bool {
        self.claims().is_ok_and(|claims| claims.dispatches_agent())
    }

    /// Parses a token endpoint's response body.
    ///
    /// Accepts snake_case or camelCase keys (`server_url`/`serverUrl`,
    /// `participant_token`/`participantToken`, optional `room_name`/`roomName` and
    /// `participant_name`/`participantName`) and ignores unknown fields. An empty or missing URL
    /// or token is an error. Errors never contain the body.
    pub fn from_response_json(body: &[u8]) -> Result<Self, TokenSourceError> {
        let invalid = |reason: String| TokenSourceError::InvalidResponse { reason };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(invalid("the body is empty".to_owned()));
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| invalid(format!("not JSON ({})", describe_json_error(&error))))?;
        let Value::Object(object) = value else {
            return Err(invalid("the body is not a JSON object".to_owned()));
        };
        let required = |snake: &str, camel: &str| -> Result<String, TokenSourceError> {
            match string_field(&object, snake, camel)? {
                Some(value) if !value.is_empty() => Ok(value),
                Some(_) => Err(invalid(format!("`{snake}` is empty"))),
                None => Err(invalid(format!("`{snake}` is missing"))),
            }
        };
        let server_url = required("server_url", "serverUrl")?;
        let participant_token = required("participant_token", "participantToken")?;
        let mut fields = ResponseFields {
            server_url,
            participant_token,
            participant_name: string_field(&object, "participant_name", "participantName")?,
            room_name: string_field(&object, "room_name", "roomName")?,
        };
        fields.participant_name = fields.participant_name.filter(|name| !name.is_empty());
        fields.room_name = fields.room_name.filter(|name| !name.is_empty());
        Ok(Self { inner: Arc::new(fields) })
    }

    /// The JSON body a token endpoint answers with (snake_case; optional fields omitted).
    pub fn to_response_json(&self) -> String {
        // Serializing strings cannot fail.
        serde_json::to_string(&WireResponse::from(self)).unwrap_or_default()
    }
}

/// Reads an optional string field under either spelling. `null` counts as absent.
fn string_field(
    object: &Map<String, Value>,
    snake: &str,
    camel: &str,
) -> Result<Option<String>, TokenSourceError> {
    match object.get(snake).filter(|v| !v.is_null()).or_else(|| object.get(camel)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => {
            Err(TokenSourceError::InvalidResponse { reason: format!("`{snake}` is not a string") })
        }
    }
}

impl fmt::Debug for TokenSourceResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceResponse")
            .field("server_url", &self.server_url())
            .field("participant_token", &Secret(self.participant_token()))
            .field("participant_name", &self.participant_name())
            .field("room_name", &self.room_name())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct WireResponse {
    server_url: String,
    participant_token: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    participant_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    room_name: Option<String>,
}

impl From<&TokenSourceResponse> for WireResponse {
    fn from(response: &TokenSourceResponse) -> Self {
        let fields = &*response.inner;
        Self {
            server_url: fields.server_url.clone(),
            participant_token: fields.participant_token.clone(),
            participant_name: fields.participant_name.clone(),
            room_name: fields.room_name.clone(),
        }
    }
}

/// Serializes as the endpoint wire form, so a persistent [`crate::TokenStore`] can save it.
impl Serialize for TokenSourceResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireResponse::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TokenSourceResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireResponse::deserialize(deserializer)?;
        Ok(Self {
            inner: Arc::new(ResponseFields {
                server_url: wire.server_url,
                participant_token: wire.participant_token,
                participant_name: wire.participant_name,
                room_name: wire.room_name,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(body: &str) -> Result<TokenSourceResponse, TokenSourceError> {
        TokenSourceResponse::from_response_json(body.as_bytes())
    }

    fn reason(result: Result<TokenSourceResponse, TokenSourceError>) -> String {
        match result {
            Err(TokenSourceError::InvalidResponse { reason }) => reason,
            other => panic!("expected InvalidResponse, got {other:?}"),
        }
    }

    #[test]
    fn parses_snake_and_camel_case() {
        let snake = parse(
            r#"{"server_url":"wss://a","participant_token":"t","room_name":"r","participant_name":"p"}"#,
        )
        .unwrap();
        let camel = parse(
            r#"{"serverUrl":"wss://a","participantToken":"t","roomName":"r","participantName":"p"}"#,
        )
        .unwrap();
        assert_eq!(snake, camel);
        assert_eq!(snake.room_name(), Some("r"));
        assert_eq!(snake.participant_name(), Some("p"));
    }

    #[test]
    fn optional_fields_are_none_when_absent_and_unknown_fields_are_ignored() {
        let response =
            parse(r#"{"server_url":"wss://a","participant_token":"t","extra":{"x":[1]}}"#).unwrap();
        assert_eq!(response.room_name(), None);
        assert_eq!(response.participant_name(), None);
    }

    #[test]
    fn rejects_bad_bodies_with_reasons() {
        assert_eq!(reason(parse("")), "the body is empty");
        assert!(reason(parse("<html>oops</html>")).starts_with("not JSON (syntax error"));
        assert_eq!(reason(parse("[]")), "the body is not a JSON object");
        assert_eq!(reason(parse(r#"{"server_url":"wss://a"}"#)), "`participant_token` is missing");
        assert_eq!(
            reason(parse(r#"{"server_url":"","participant_token":"t"}"#)),
            "`server_url` is empty"
        );
        assert_eq!(
            reason(parse(r#"{"server_url":5,"participant_token":"t"}"#)),
            "`server_url` is not a string"
        );
    }

    #[test]
    fn wire_round_trip_and_redacted_debug() {
        let response =
            TokenSourceResponse::new("wss://a", "secret-token-value").with_room_name("r");
        let parsed =
            TokenSourceResponse::from_response_json(response.to_response_json().as_bytes())
                .unwrap();
        assert_eq!(parsed, response);
        let debug = format!("{response:?}");
        assert!(!debug.contains("secret-token-value"), "{debug}");
        assert!(debug.contains("<redacted, 18 bytes>"), "{debug}");
        let serde: TokenSourceResponse =
            serde_json::from_str(&serde_json::to_string(&response).unwrap()).unwrap();
        assert_eq!(serde, response);
    }

    #[test]
    fn clones_share_storage() {
        let response = TokenSourceResponse::new("wss://a", "t");
        let clone = response.clone();
        assert!(std::ptr::eq(response.participant_token(), clone.participant_token()));
    }

    proptest! {
        #[test]
        fn response_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = TokenSourceResponse::from_response_json(&bytes);
        }
    }
}
