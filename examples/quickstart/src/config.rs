//! What the quickstart does, from the environment.

use std::fmt;

use token_source::redact::Secret;

/// The two modes of the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No configuration: a local token server and a scripted agent, no network beyond
    /// 127.0.0.1.
    Demo,
    /// `LIVEKIT_URL` is set: a terminal agent-chat client for a real LiveKit server.
    LiveKit(LiveKitConfig),
}

/// How to reach a real LiveKit server.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LiveKitConfig {
    /// The server URL (`ws://`, `wss://`, `http://` or `https://`).
    pub url: String,
    /// Where tokens come from.
    pub credentials: Credentials,
    /// The agent to dispatch (`LIVEKIT_AGENT_NAME`), if any.
    pub agent_name: Option<String>,
    /// The room to join (`LIVEKIT_ROOM`); a fresh random room otherwise.
    pub room_name: Option<String>,
}

/// Where tokens come from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// Minted by a local token server with the project's API key and secret.
    ApiKey {
        /// `LIVEKIT_API_KEY`.
        key: String,
        /// `LIVEKIT_API_SECRET`.
        secret: String,
    },
    /// LiveKit Cloud's development token server (`LIVEKIT_SANDBOX_ID`).
    Sandbox {
        /// The sandbox ID.
        id: String,
    },
}

impl fmt::Debug for LiveKitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.credentials {
            Credentials::ApiKey { key, secret } => {
                format!("api key {key}, secret {:?}", Secret(secret))
            }
            Credentials::Sandbox { id } => format!("sandbox {:?}", Secret(id)),
        };
        f.debug_struct("LiveKitConfig")
            .field("url", &self.url)
            .field("credentials", &credentials)
            .field("agent_name", &self.agent_name)
            .field("room_name", &self.room_name)
            .finish()
    }
}

/// Configuration that cannot be used, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigError {
    /// `LIVEKIT_URL` is set but this build cannot talk to LiveKit.
    NoLiveKitTransport,
    /// `LIVEKIT_URL` is not a ws/wss/http/https URL.
    InvalidUrl(String),
    /// Neither an API key pair nor a sandbox ID is set.
    MissingCredentials,
    /// Only one of `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET` is set.
    IncompleteKeyPair,
    /// A variable is set but empty.
    Empty(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoLiveKitTransport => f.write_str(
                "LIVEKIT_URL is set, but this build has no LiveKit transport: run \
                 `cargo run -p quickstart --features livekit` (needs libwebrtc), or unset LIVEKIT_URL \
                 for the offline demo",
            ),
            ConfigError::InvalidUrl(url) => write!(
                f,
                "LIVEKIT_URL must start with ws://, wss://, http:// or https:// (got {url:?})"
            ),
            ConfigError::MissingCredentials => f.write_str(
                "LIVEKIT_URL is set but there are no credentials: set LIVEKIT_API_KEY and \
                 LIVEKIT_API_SECRET, or LIVEKIT_SANDBOX_ID",
            ),
            ConfigError::IncompleteKeyPair => f.write_str(
                "set both LIVEKIT_API_KEY and LIVEKIT_API_SECRET (only one of them is set)",
            ),
            ConfigError::Empty(name) => write!(f, "{name} is set but empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads the mode from `var` (the environment, or a map in tests).
pub(crate) fn from_env(
    var: impl Fn(&str) -> Option<String>,
    livekit_available: bool,
) -> Result<Mode, ConfigError> {
    let read = |name: &'static str| -> Result<Option<String>, ConfigError> {
        match var(name) {
            Some(value) if value.trim().is_empty() => Err(ConfigError::Empty(name)),
            other => Ok(other.map(|value| value.trim().to_owned())),
        }
    };
    let Some(url) = read("LIVEKIT_URL")? else {
        return Ok(Mode::Demo);
    };
    if !livekit_available {
        return Err(ConfigError::NoLiveKitTransport);
    }
    if !["ws://", "wss://", "http://", "https://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(ConfigError::InvalidUrl(url));
    }
    let credentials = match (
        read("LIVEKIT_API_KEY")?,
        read("LIVEKIT_API_SECRET")?,
        read("LIVEKIT_SANDBOX_ID")?,
    ) {
        (Some(key), Some(secret), _) => Credentials::ApiKey { key, secret },
        (Some(_), None, _) | (None, Some(_), _) => return Err(ConfigError::IncompleteKeyPair),
        (None, None, Some(id)) => Credentials::Sandbox { id },
        (None, None, None) => return Err(ConfigError::MissingCredentials),
    };
    Ok(Mode::LiveKit(LiveKitConfig {
        url,
        credentials,
        agent_name: read("LIVEKIT_AGENT_NAME")?,
        room_name: read("LIVEKIT_ROOM")?,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn mode(vars: &[(&str, &str)], livekit: bool) -> Result<Mode, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        from_env(|name| vars.get(name).cloned(), livekit)
    }

    #[test]
    fn no_configuration_is_the_demo() {
        assert_eq!(mode(&[], false), Ok(Mode::Demo));
        assert_eq!(mode(&[("LIVEKIT_API_KEY", "k")], true), Ok(Mode::Demo));
    }

    #[test]
    fn a_url_needs_the_livekit_build_and_credentials() {
        let url = ("LIVEKIT_URL", "wss://x.livekit.cloud");
        assert_eq!(mode(&[url], false), Err(ConfigError::NoLiveKitTransport));
        assert_eq!(mode(&[url], true), Err(ConfigError::MissingCredentials));
        assert_eq!(
            mode(&[url, ("LIVEKIT_API_KEY", "k")], true),
            Err(ConfigError::IncompleteKeyPair)
        );
        assert_eq!(
            mode(&[("LIVEKIT_URL", "localhost:7880"), ("LIVEKIT_SANDBOX_ID", "s")], true),
            Err(ConfigError::InvalidUrl("localhost:7880".into()))
        );
        assert_eq!(
            mode(&[url, ("LIVEKIT_SANDBOX_ID", " ")], true),
            Err(ConfigError::Empty("LIVEKIT_SANDBOX_ID"))
        );
    }

    #[test]
    fn complete_configurations() {
        let Ok(Mode::LiveKit(config)) = mode(
            &[
                ("LIVEKIT_URL", "ws://localhost:7880"),
                ("LIVEKIT_API_KEY", "devkey"),
                ("LIVEKIT_API_SECRET", "secret-value-1234567890"),
                ("LIVEKIT_AGENT_NAME", "my-agent"),
            ],
            true,
        ) else {
            panic!("a LiveKit configuration")
        };
        assert_eq!(config.agent_name.as_deref(), Some("my-agent"));
        assert!(matches!(config.credentials, Credentials::ApiKey { .. }));
        assert!(!format!("{config:?}").contains("secret-value"), "{config:?}");

        let Ok(Mode::LiveKit(config)) =
            mode(&[("LIVEKIT_URL", "wss://x"), ("LIVEKIT_SANDBOX_ID", "sandbox-abc-123")], true)
        else {
            panic!("a sandbox configuration")
        };
        assert!(!format!("{config:?}").contains("sandbox-abc-123"));
    }

    #[test]
    fn errors_say_what_to_do() {
        assert!(ConfigError::NoLiveKitTransport.to_string().contains("--features livekit"));
        assert!(ConfigError::MissingCredentials.to_string().contains("LIVEKIT_SANDBOX_ID"));
    }
}
