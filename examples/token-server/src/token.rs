//! Checking request options and minting the LiveKit access token.

use livekit_api::access_token::{AccessToken, AccessTokenError, VideoGrants};
use livekit_protocol::{RoomAgentDispatch, RoomConfiguration};
use token_source::TokenRequestOptions;

use crate::{TokenServerConfig, error::ApiError};

/// The longest room name, participant identity or name, agent name or deployment, or attribute
/// key accepted, in characters. Longer values get 422.
pub const MAX_NAME_CHARS: usize = 256;

/// A minted token and what the server chose for it.
pub(crate) struct Minted {
    pub(crate) token: String,
    pub(crate) identity: String,
    pub(crate) name: String,
    pub(crate) room: String,
}

/// Treats empty room names, identities and names as not given (the server picks them).
pub(crate) fn normalize(mut options: TokenRequestOptions) -> TokenRequestOptions {
    for field in
        [&mut options.room_name, &mut options.participant_identity, &mut options.participant_name]
    {
        if field.as_deref().is_some_and(str::is_empty) {
            *field = None;
        }
    }
    options
}

/// Rejects values LiveKit cannot use or that are unreasonable: 422 naming the field, never
/// repeating the value.
pub(crate) fn validate(options: &TokenRequestOptions) -> Result<(), ApiError> {
    let names = [
        ("room_name", &options.room_name),
        ("participant_identity", &options.participant_identity),
        ("participant_name", &options.participant_name),
        ("room_config.agents[0].agent_name", &options.agent_name),
        ("room_config.agents[0].deployment", &options.agent_deployment),
    ];
    for (field, value) in names {
        if let Some(value) = value {
            check_name(field, value)?;
        }
    }
    for key in options.participant_attributes.keys() {
        if key.is_empty() {
            return Err(ApiError::unprocessable("`participant_attributes` has an empty key"));
        }
        check_name("participant_attributes", key)?;
    }
    Ok(())
}

fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::unprocessable(format!(
            "`{field}` is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!("`{field}` contains control characters")));
    }
    Ok(())
}

/// `prefix-` and 16 random hex digits.
fn random_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

/// Mints a token for validated, normalized `options`: the given identity, name and room or
/// random ones (`user-…`, `room-…`; the name defaults to the identity), room join with publish,
/// subscribe and data, and the agent dispatch in the token's room configuration.
pub(crate) fn mint(
    config: &TokenServerConfig,
    options: &TokenRequestOptions,
) -> Result<Minted, AccessTokenError> {
    let identity = options.participant_identity.clone().unwrap_or_else(|| random_name("user"));
    let room = options.room_name.clone().unwrap_or_else(|| random_name("room"));
    let name = options.participant_name.clone().unwrap_or_else(|| identity.clone());
    let mut token = AccessToken::with_api_key(&config.api_key, &config.api_secret)
        .with_ttl(config.token_ttl)
        .with_identity(&identity)
        .with_name(&name)
        .with_grants(VideoGrants {
            room_join: true,
            room: room.clone(),
            can_publish: Some(true),
            can_subscribe: Some(true),
            can_publish_data: Some(true),
            ..VideoGrants::default()
        });
    if let Some(metadata) = &options.participant_metadata {
        token = token.with_metadata(metadata);
    }
    if !options.participant_attributes.is_empty() {
        token = token.with_attributes(&options.participant_attributes);
    }
    if options.dispatches_agent() {
        token = token.with_room_config(RoomConfiguration {
            agents: vec![RoomAgentDispatch {
                agent_name: options.agent_name.clone().unwrap_or_default(),
                metadata: options.agent_metadata.clone().unwrap_or_default(),
                deployment: options.agent_deployment.clone().unwrap_or_default(),
                ..RoomAgentDispatch::default()
            }],
            ..RoomConfiguration::default()
        });
    }
    Ok(Minted { token: token.to_jwt()?, identity, name, room })
}

#[cfg(test)]
mod tests {
    use livekit_api::access_token::TokenVerifier;

    use super::*;

    fn status(result: Result<(), ApiError>) -> Option<(u16, String)> {
        result.err().map(|error| (error.status.as_u16(), error.message))
    }

    #[test]
    fn names_are_limited_in_length_and_characters() {
        let ok = TokenRequestOptions::new()
            .with_room_name("r".repeat(MAX_NAME_CHARS))
            .with_participant_identity("é".repeat(MAX_NAME_CHARS))
            .with_participant_metadata("line\nbreaks are fine in metadata")
            .with_participant_attribute("k", "value\twith tab");
        assert_eq!(status(validate(&ok)), None);
        let too_long = TokenRequestOptions::new().with_participant_identity("x".repeat(257));
        assert_eq!(
            status(validate(&too_long)),
            Some((422, "`participant_identity` is longer than 256 characters".to_owned()))
        );
        let control = TokenRequestOptions::new().with_room_name("room\u{0}");
        assert_eq!(
            status(validate(&control)),
            Some((422, "`room_name` contains control characters".to_owned()))
        );
        let agent = TokenRequestOptions::new().with_agent_name("a\nb");
        assert!(status(validate(&agent)).unwrap().1.contains("agent_name"));
        let key = TokenRequestOptions::new().with_participant_attribute("", "v");
        assert_eq!(status(validate(&key)).unwrap().0, 422);
    }

    #[test]
    fn empty_names_are_left_to_the_server() {
        let options = normalize(
            TokenRequestOptions::new()
                .with_room_name("")
                .with_participant_identity("")
                .with_participant_name("")
                .with_participant_metadata(""),
        );
        assert_eq!(options, TokenRequestOptions::new().with_participant_metadata(""));
    }

    #[test]
    fn mints_defaults_and_agent_dispatch() {
        let config = TokenServerConfig::default();
        let minted = mint(&config, &TokenRequestOptions::new()).unwrap();
        let suffix = |name: &str, prefix: &str| name.strip_prefix(prefix).unwrap().to_owned();
        let id = suffix(&minted.identity, "user-");
        assert!(id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert_eq!(suffix(&minted.room, "room-").len(), 16);
        assert_eq!(minted.name, minted.identity);
        let claims = TokenVerifier::with_api_key("devkey", "secret").verify(&minted.token).unwrap();
        assert_eq!(claims.sub, minted.identity);
        assert_eq!(claims.video.room, minted.room);
        assert_eq!(claims.room_config, None);
        assert!(claims.attributes.is_empty() && claims.metadata.is_empty());

        let options = TokenRequestOptions::new().with_agent_deployment("staging");
        let minted = mint(&config, &options).unwrap();
        let claims = TokenVerifier::with_api_key("devkey", "secret").verify(&minted.token).unwrap();
        let agents = claims.room_config.unwrap().agents;
        assert_eq!(agents.len(), 1);
        assert_eq!((agents[0].agent_name.as_str(), agents[0].deployment.as_str()), ("", "staging"));
    }

    #[test]
    fn random_names_differ() {
        assert_ne!(random_name("room"), random_name("room"));
    }

    #[test]
    fn invalid_keys_fail_to_mint() {
        let config = TokenServerConfig::default().with_api_secret("");
        assert!(matches!(
            mint(&config, &TokenRequestOptions::new()),
            Err(AccessTokenError::InvalidKeys)
        ));
    }
}
