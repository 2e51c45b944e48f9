//! What the quickstart does, from its command line or the environment (parsed with `clap`).

use std::fmt;

use clap::Parser;
use token_source::redact::Secret;

/// The quickstart: with no settings, an offline demo of token caching and a scripted agent
/// session; with a LiveKit URL (and a build with `--features livekit`), a terminal agent-chat
/// client for a real LiveKit server.
///
/// Every option can also be given as its environment variable (the flag wins).
#[derive(Clone, Default, Parser)]
#[command(name = "quickstart", about, long_about = None)]
pub(crate) struct Options {
    /// The LiveKit server URL (ws, wss, http or https): talk to a real agent
    #[arg(long, env = "LIVEKIT_URL", value_name = "URL")]
    url: Option<String>,
    /// The API key tokens are signed for (with --api-secret)
    #[arg(long, env = "LIVEKIT_API_KEY", value_name = "KEY")]
    api_key: Option<String>,
    /// The API secret tokens are signed with (with --api-key)
    #[arg(long, env = "LIVEKIT_API_SECRET", value_name = "SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// A LiveKit Cloud sandbox ID (the development token server), instead of the keys
    #[arg(long, env = "LIVEKIT_SANDBOX_ID", value_name = "ID", hide_env_values = true)]
    sandbox_id: Option<String>,
    /// The agent to dispatch into the room
    #[arg(long, env = "LIVEKIT_AGENT_NAME", value_name = "NAME")]
    agent_name: Option<String>,
    /// The room to join [default: a new random room]
    #[arg(long, env = "LIVEKIT_ROOM", value_name = "ROOM")]
    room: Option<String>,
}

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
    /// A setting is set but empty (its variable and flag).
    Empty(&'static str, &'static str),
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
                 LIVEKIT_API_SECRET (--api-key, --api-secret), or LIVEKIT_SANDBOX_ID (--sandbox-id)",
            ),
            ConfigError::IncompleteKeyPair => f.write_str(
                "set both LIVEKIT_API_KEY and LIVEKIT_API_SECRET (--api-key, --api-secret): only \
                 one of them is set",
            ),
            ConfigError::Empty(variable, flag) => write!(f, "{variable} ({flag}) is set but empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Options {
    /// What to do: the demo when no URL is set, else a LiveKit configuration, checked.
    /// `livekit_available` says whether this build has the LiveKit transport.
    pub(crate) fn mode(&self, livekit_available: bool) -> Result<Mode, ConfigError> {
        let read = |value: &Option<String>, variable: &'static str, flag: &'static str| match value
        {
            Some(value) if value.trim().is_empty() => Err(ConfigError::Empty(variable, flag)),
            other => Ok(other.as_ref().map(|value| value.trim().to_owned())),
        };
        let Some(url) = read(&self.url, "LIVEKIT_URL", "--url")? else {
            return Ok(Mode::Demo);
        };
        if !livekit_available {
            return Err(ConfigError::NoLiveKitTransport);
        }
        if !["ws://", "wss://", "http://", "https://"].iter().any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::InvalidUrl(url));
        }
        let credentials = match (
            read(&self.api_key, "LIVEKIT_API_KEY", "--api-key")?,
            read(&self.api_secret, "LIVEKIT_API_SECRET", "--api-secret")?,
            read(&self.sandbox_id, "LIVEKIT_SANDBOX_ID", "--sandbox-id")?,
        ) {
            (Some(key), Some(secret), _) => Credentials::ApiKey { key, secret },
            (Some(_), None, _) | (None, Some(_), _) => return Err(ConfigError::IncompleteKeyPair),
            (None, None, Some(id)) => Credentials::Sandbox { id },
            (None, None, None) => return Err(ConfigError::MissingCredentials),
        };
        Ok(Mode::LiveKit(LiveKitConfig {
            url,
            credentials,
            agent_name: read(&self.agent_name, "LIVEKIT_AGENT_NAME", "--agent-name")?,
            room_name: read(&self.room, "LIVEKIT_ROOM", "--room")?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Options as given by these variables (whatever the environment of the test process).
    fn mode(vars: &[(&str, &str)], livekit: bool) -> Result<Mode, ConfigError> {
        let mut options = Options::default();
        for (name, value) in vars {
            let slot = match *name {
                "LIVEKIT_URL" => &mut options.url,
                "LIVEKIT_API_KEY" => &mut options.api_key,
                "LIVEKIT_API_SECRET" => &mut options.api_secret,
                "LIVEKIT_SANDBOX_ID" => &mut options.sandbox_id,
                "LIVEKIT_AGENT_NAME" => &mut options.agent_name,
                "LIVEKIT_ROOM" => &mut options.room,
                other => panic!("unknown variable {other}"),
            };
            *slot = Some((*value).to_owned());
        }
        options.mode(livekit)
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
            Err(ConfigError::Empty("LIVEKIT_SANDBOX_ID", "--sandbox-id"))
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
                ("LIVEKIT_ROOM", " my-room "),
            ],
            true,
        ) else {
            panic!("a LiveKit configuration")
        };
        assert_eq!(config.agent_name.as_deref(), Some("my-agent"));
        assert_eq!(config.room_name.as_deref(), Some("my-room"));
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
        let missing = ConfigError::MissingCredentials.to_string();
        assert!(missing.contains("LIVEKIT_SANDBOX_ID") && missing.contains("--sandbox-id"));
        assert_eq!(
            ConfigError::Empty("LIVEKIT_ROOM", "--room").to_string(),
            "LIVEKIT_ROOM (--room) is set but empty"
        );
    }

    #[test]
    fn flags_are_parsed_by_clap() {
        let options = Options::try_parse_from([
            "quickstart",
            "--url",
            "wss://flag.example",
            "--sandbox-id",
            "sb-1",
            "--agent-name",
            "a",
            "--room",
            "r",
        ])
        .unwrap();
        let Ok(Mode::LiveKit(config)) = options.mode(true) else { panic!("a LiveKit mode") };
        assert_eq!(config.url, "wss://flag.example");
        assert_eq!(
            (config.agent_name.as_deref(), config.room_name.as_deref()),
            (Some("a"), Some("r"))
        );
        assert!(Options::try_parse_from(["quickstart", "--bogus"]).is_err());
        let help = Options::command().render_help().to_string();
        for name in
            ["--url", "LIVEKIT_URL", "--api-key", "LIVEKIT_SANDBOX_ID", "--room", "LIVEKIT_ROOM"]
        {
            assert!(help.contains(name), "{name}: {help}");
        }
    }
}
