//! The `token-server` binary's settings, from its command line or the environment (a flag wins
//! over its variable), parsed with `clap`.
//!
//! Values are checked here, not by `clap`, so that an error names the setting the way it was
//! given (`LIVEKIT_URL` when it came from the environment, `--livekit-url` from the command
//! line) and never repeats a secret.

use std::{ffi::OsString, fmt, net::SocketAddr, time::Duration};

use clap::{CommandFactory, Parser, parser::ValueSource};

use crate::{
    TokenServerConfig,
    config::{DEFAULT_LISTEN_ADDR, check_credential, check_url, parse_origin},
    error::ConfigError,
};

/// A LiveKit token endpoint: POST JSON options to /token, get 201 with `server_url` and
/// `participant_token`.
///
/// Every setting can be given as a flag or as its environment variable (the flag wins); a
/// setting that is set but empty or invalid stops the server with a message naming it.
#[derive(Parser)]
#[command(name = "token-server", version, about, long_about = None)]
struct Flags {
    /// The API key tokens are signed for (set it with the secret, or neither for the dev keys)
    #[arg(long, env = "LIVEKIT_API_KEY", value_name = "KEY")]
    api_key: Option<OsString>,
    /// The API secret tokens are signed with
    #[arg(long, env = "LIVEKIT_API_SECRET", value_name = "SECRET", hide_env_values = true)]
    api_secret: Option<OsString>,
    /// The LiveKit URL returned to clients (ws, wss, http or https) [default: ws://localhost:7880]
    #[arg(long, env = "LIVEKIT_URL", value_name = "URL")]
    livekit_url: Option<OsString>,
    /// Require `Authorization: Bearer <TOKEN>` [default: no authentication]
    #[arg(long, env = "TOKEN_SERVER_BEARER", value_name = "TOKEN", hide_env_values = true)]
    bearer: Option<OsString>,
    /// Token lifetime in seconds [default: 3600]
    #[arg(long, env = "TOKEN_SERVER_TTL_SECS", value_name = "SECONDS")]
    ttl_secs: Option<OsString>,
    /// Comma-separated CORS origins, or `*` [default: any origin]
    #[arg(long, env = "TOKEN_SERVER_ALLOWED_ORIGINS", value_name = "ORIGINS")]
    allowed_origins: Option<OsString>,
    /// The address to listen on (ip:port) [default: 127.0.0.1:8080]
    #[arg(long, env = "TOKEN_SERVER_ADDR", value_name = "ADDR")]
    addr: Option<OsString>,
    /// Seconds a client may take to send the request line and headers [default: 10]
    #[arg(long, env = "TOKEN_SERVER_HEADER_TIMEOUT_SECS", value_name = "SECONDS")]
    header_timeout_secs: Option<OsString>,
    /// Seconds a client may take to send the body [default: 10]
    #[arg(long, env = "TOKEN_SERVER_BODY_TIMEOUT_SECS", value_name = "SECONDS")]
    body_timeout_secs: Option<OsString>,
    /// Connections handled at once; more wait in the listen queue [default: 512]
    #[arg(long, env = "TOKEN_SERVER_MAX_CONNECTIONS", value_name = "COUNT")]
    max_connections: Option<OsString>,
    /// Seconds a shutdown (Ctrl-C, SIGTERM) waits for requests in flight [default: 5]
    #[arg(long, env = "TOKEN_SERVER_SHUTDOWN_TIMEOUT_SECS", value_name = "SECONDS")]
    shutdown_timeout_secs: Option<OsString>,
    /// What to log: a level (error, warn, info, debug, trace, off) or RUST_LOG directives
    /// [default: info]
    #[arg(long, env = "RUST_LOG", value_name = "LEVEL")]
    log_level: Option<OsString>,
}

/// Each setting: its id (the field of the command line above), flag and environment variable.
const SETTINGS: [(&str, &str, &str); 12] = [
    ("api_key", "--api-key", "LIVEKIT_API_KEY"),
    ("api_secret", "--api-secret", "LIVEKIT_API_SECRET"),
    ("livekit_url", "--livekit-url", "LIVEKIT_URL"),
    ("bearer", "--bearer", "TOKEN_SERVER_BEARER"),
    ("ttl_secs", "--ttl-secs", "TOKEN_SERVER_TTL_SECS"),
    ("allowed_origins", "--allowed-origins", "TOKEN_SERVER_ALLOWED_ORIGINS"),
    ("addr", "--addr", "TOKEN_SERVER_ADDR"),
    ("header_timeout_secs", "--header-timeout-secs", "TOKEN_SERVER_HEADER_TIMEOUT_SECS"),
    ("body_timeout_secs", "--body-timeout-secs", "TOKEN_SERVER_BODY_TIMEOUT_SECS"),
    ("max_connections", "--max-connections", "TOKEN_SERVER_MAX_CONNECTIONS"),
    ("shutdown_timeout_secs", "--shutdown-timeout-secs", "TOKEN_SERVER_SHUTDOWN_TIMEOUT_SECS"),
    ("log_level", "--log-level", "RUST_LOG"),
];

/// The binary's settings as given: each set one with how it was named (`--flag` or
/// `VARIABLE`). `Debug` shows the names, never a value.
#[derive(Clone, Default)]
pub struct Cli {
    set: Vec<(&'static str, &'static str, OsString)>,
}

impl fmt::Debug for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.set.iter().map(|(_, name, _)| name)).finish()
    }
}

impl Cli {
    /// Parses the process's arguments and environment; `--help`, `--version` and invalid
    /// arguments print and exit as usual.
    pub fn parse_args() -> Self {
        Self::from_matches(&Flags::command().get_matches())
    }

    /// Parses `args` (the first is the program name) and the environment.
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Ok(Self::from_matches(&Flags::command().try_get_matches_from(args)?))
    }

    /// The environment alone (no arguments).
    pub(crate) fn from_env() -> Self {
        Self::try_parse_args(["token-server"]).unwrap_or_default()
    }

    fn from_matches(matches: &clap::ArgMatches) -> Self {
        let set = SETTINGS
            .iter()
            .filter_map(|&(id, flag, env)| {
                let value = matches.get_one::<OsString>(id)?.clone();
                let from_env = matches.value_source(id) == Some(ValueSource::EnvVariable);
                Some((id, if from_env { env } else { flag }, value))
            })
            .collect();
        Self { set }
    }

    /// How the setting `id` is named in messages: as it was given, or (unset) as the other
    /// settings were given (flags when any came from the command line), else its variable.
    fn name(&self, id: &str) -> &'static str {
        if let Some((_, name, _)) = self.set.iter().find(|(setting, ..)| *setting == id) {
            return name;
        }
        let flags = self.set.iter().any(|(_, name, _)| name.starts_with("--"));
        let (_, flag, env) =
            SETTINGS.iter().find(|(setting, ..)| *setting == id).copied().unwrap_or_default();
        if flags { flag } else { env }
    }

    /// A setting's value: `None` when unset; set but empty or not UTF-8 is an error.
    fn value(&self, id: &str) -> Result<Option<(String, &'static str)>, ConfigError> {
        let Some((_, name, value)) = self.set.iter().find(|(setting, ..)| *setting == id) else {
            return Ok(None);
        };
        match value.to_str() {
            Some("") => Err(ConfigError::Empty { name }),
            Some(value) => Ok(Some((value.to_owned(), name))),
            None => Err(ConfigError::NotUnicode { name }),
        }
    }

    /// A whole number greater than zero.
    fn number(&self, id: &str) -> Result<Option<u64>, ConfigError> {
        let Some((value, name)) = self.value(id)? else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(number) if number > 0 => Ok(Some(number)),
            _ => Err(ConfigError::InvalidNumber { name, value }),
        }
    }

    /// The token server's configuration: these settings on top of
    /// [`TokenServerConfig::default`], validated.
    pub fn config(&self) -> Result<TokenServerConfig, ConfigError> {
        let mut config = TokenServerConfig::default();
        match (self.value("api_key")?, self.value("api_secret")?) {
            (Some((key, key_name)), Some((secret, secret_name))) => {
                check_credential(key_name, &key)?;
                check_credential(secret_name, &secret)?;
                config = config.with_api_key(key).with_api_secret(secret);
            }
            (Some((_, set)), None) => {
                return Err(ConfigError::IncompleteKeyPair {
                    set,
                    missing: self.name("api_secret"),
                });
            }
            (None, Some((_, set))) => {
                return Err(ConfigError::IncompleteKeyPair { set, missing: self.name("api_key") });
            }
            (None, None) => {}
        }
        if let Some((url, name)) = self.value("livekit_url")? {
            check_url(name, &url)?;
            config = config.with_livekit_url(url);
        }
        if let Some((bearer, name)) = self.value("bearer")? {
            check_credential(name, &bearer)?;
            config = config.with_bearer_token(bearer);
        }
        if let Some((ttl, name)) = self.value("ttl_secs")? {
            let seconds = ttl.trim().parse::<u64>().ok().filter(|seconds| *seconds > 0);
            let seconds = seconds.ok_or(ConfigError::InvalidTtl { name, value: ttl })?;
            config = config.with_token_ttl(Duration::from_secs(seconds));
        }
        if let Some((origins, name)) = self.value("allowed_origins")? {
            let origins: Vec<&str> =
                origins.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
            if origins.is_empty() {
                return Err(ConfigError::Empty { name });
            }
            if !origins.contains(&"*") {
                for origin in origins {
                    parse_origin(origin)?;
                    config = config.with_allowed_origin(origin);
                }
            }
        }
        if let Some(seconds) = self.number("header_timeout_secs")? {
            config = config.with_header_read_timeout(Duration::from_secs(seconds));
        }
        if let Some(seconds) = self.number("body_timeout_secs")? {
            config = config.with_body_read_timeout(Duration::from_secs(seconds));
        }
        if let Some(count) = self.number("max_connections")? {
            config = config.with_max_connections(usize::try_from(count).unwrap_or(usize::MAX));
        }
        if let Some(seconds) = self.number("shutdown_timeout_secs")? {
            config = config.with_shutdown_timeout(Duration::from_secs(seconds));
        }
        config.validate()?;
        Ok(config)
    }

    /// The address to listen on (`127.0.0.1:8080` when unset).
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        let (value, name) =
            self.value("addr")?.unwrap_or((DEFAULT_LISTEN_ADDR.to_owned(), self.name("addr")));
        value.trim().parse().map_err(|_| ConfigError::InvalidAddress { name, value })
    }

    /// The log filter (`info` when unset), checked: a level or `RUST_LOG` directives.
    pub fn log_filter(&self) -> Result<String, ConfigError> {
        let Some((filter, name)) = self.value("log_level")? else {
            return Ok("info".to_owned());
        };
        tracing_subscriber::EnvFilter::try_new(&filter)
            .map_err(|error| ConfigError::InvalidLogFilter { name, reason: error.to_string() })?;
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings as if given by these names (`--flag` or `VARIABLE`), whatever the environment
    /// of the test process.
    fn given(pairs: &[(&str, &str)]) -> Cli {
        let set = pairs
            .iter()
            .map(|(name, value)| {
                let &(id, flag, env) = SETTINGS
                    .iter()
                    .find(|(_, flag, env)| flag == name || env == name)
                    .expect("a known setting");
                (id, if *name == flag { flag } else { env }, OsString::from(*value))
            })
            .collect();
        Cli { set }
    }

    fn config(pairs: &[(&str, &str)]) -> Result<TokenServerConfig, ConfigError> {
        given(pairs).config()
    }

    #[test]
    fn nothing_set_is_the_dev_server() {
        let config = config(&[]).unwrap();
        assert!(config.uses_dev_keys() && !config.requires_auth());
        assert_eq!(given(&[]).listen_addr().unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(given(&[]).log_filter().unwrap(), "info");
    }

    #[test]
    fn variables_and_flags_set_everything() {
        for names in [
            [
                "LIVEKIT_API_KEY",
                "LIVEKIT_API_SECRET",
                "LIVEKIT_URL",
                "TOKEN_SERVER_BEARER",
                "TOKEN_SERVER_TTL_SECS",
                "TOKEN_SERVER_ALLOWED_ORIGINS",
                "TOKEN_SERVER_HEADER_TIMEOUT_SECS",
                "TOKEN_SERVER_BODY_TIMEOUT_SECS",
                "TOKEN_SERVER_MAX_CONNECTIONS",
                "TOKEN_SERVER_SHUTDOWN_TIMEOUT_SECS",
            ],
            [
                "--api-key",
                "--api-secret",
                "--livekit-url",
                "--bearer",
                "--ttl-secs",
                "--allowed-origins",
                "--header-timeout-secs",
                "--body-timeout-secs",
                "--max-connections",
                "--shutdown-timeout-secs",
            ],
        ] {
            let values = [
                "APIkey",
                "sekret-value",
                "wss://project.livekit.cloud",
                "bearer-value",
                "600",
                "https://a.example.com, http://localhost:3000",
                "3",
                "4",
                "100",
                "2",
            ];
            let pairs: Vec<(&str, &str)> = names.into_iter().zip(values).collect();
            let config = config(&pairs).unwrap();
            assert_eq!(config.api_key(), "APIkey");
            assert_eq!(config.api_secret, "sekret-value");
            assert_eq!(config.livekit_url(), "wss://project.livekit.cloud");
            assert_eq!(config.token_ttl(), Duration::from_secs(600));
            assert!(config.requires_auth());
            assert_eq!(config.allowed_origins, ["https://a.example.com", "http://localhost:3000"]);
            assert_eq!(config.header_read_timeout(), Duration::from_secs(3));
            assert_eq!(config.body_read_timeout(), Duration::from_secs(4));
            assert_eq!(config.max_connections(), 100);
            assert_eq!(config.shutdown_timeout(), Duration::from_secs(2));
        }
        let any = config(&[("TOKEN_SERVER_ALLOWED_ORIGINS", "https://a.example.com,*")]);
        assert!(any.unwrap().allowed_origins.is_empty());
        let addr = given(&[("--addr", "0.0.0.0:9000")]).listen_addr().unwrap();
        assert_eq!(addr.port(), 9000);
    }

    #[test]
    fn invalid_values_are_typed_errors_naming_the_setting_as_given() {
        let cases: &[(&[(&str, &str)], ConfigError)] = &[
            (
                &[("LIVEKIT_API_KEY", ""), ("LIVEKIT_API_SECRET", "s")],
                ConfigError::Empty { name: "LIVEKIT_API_KEY" },
            ),
            (
                &[("LIVEKIT_API_KEY", "k")],
                ConfigError::IncompleteKeyPair {
                    set: "LIVEKIT_API_KEY",
                    missing: "LIVEKIT_API_SECRET",
                },
            ),
            (
                &[("--api-secret", "s")],
                ConfigError::IncompleteKeyPair { set: "--api-secret", missing: "--api-key" },
            ),
            (
                &[("LIVEKIT_API_KEY", "k"), ("LIVEKIT_API_SECRET", "top-secret\n")],
                ConfigError::InvalidCharacters { name: "LIVEKIT_API_SECRET" },
            ),
            (&[("TOKEN_SERVER_BEARER", "")], ConfigError::Empty { name: "TOKEN_SERVER_BEARER" }),
            (&[("--bearer", "two words")], ConfigError::InvalidCharacters { name: "--bearer" }),
            (
                &[("TOKEN_SERVER_TTL_SECS", "0")],
                ConfigError::InvalidTtl { name: "TOKEN_SERVER_TTL_SECS", value: "0".into() },
            ),
            (
                &[("--ttl-secs", "1h")],
                ConfigError::InvalidTtl { name: "--ttl-secs", value: "1h".into() },
            ),
            (
                &[("TOKEN_SERVER_ALLOWED_ORIGINS", " , ")],
                ConfigError::Empty { name: "TOKEN_SERVER_ALLOWED_ORIGINS" },
            ),
            (
                &[("TOKEN_SERVER_MAX_CONNECTIONS", "0")],
                ConfigError::InvalidNumber {
                    name: "TOKEN_SERVER_MAX_CONNECTIONS",
                    value: "0".into(),
                },
            ),
            (
                &[("--header-timeout-secs", "soon")],
                ConfigError::InvalidNumber { name: "--header-timeout-secs", value: "soon".into() },
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(config(pairs).unwrap_err(), *expected, "{pairs:?}");
        }
        let error = config(&[("LIVEKIT_URL", "ftp://host")]).unwrap_err();
        assert!(matches!(error, ConfigError::InvalidUrl { name: "LIVEKIT_URL", .. }), "{error}");
        assert!(error.to_string().contains("ftp"), "{error}");
        let error = config(&[("--livekit-url", "not a url")]).unwrap_err();
        assert!(matches!(error, ConfigError::InvalidUrl { name: "--livekit-url", .. }), "{error}");
        let error = config(&[("TOKEN_SERVER_ALLOWED_ORIGINS", "https://a.example.com/app")]);
        assert!(matches!(error, Err(ConfigError::InvalidOrigin { .. })), "{error:?}");
        let secret = config(&[("LIVEKIT_API_KEY", "k"), ("LIVEKIT_API_SECRET", "top-secret\n")])
            .unwrap_err()
            .to_string();
        assert!(!secret.contains("top-secret"), "{secret}");
        assert_eq!(
            given(&[("TOKEN_SERVER_ADDR", "localhost")]).listen_addr(),
            Err(ConfigError::InvalidAddress {
                name: "TOKEN_SERVER_ADDR",
                value: "localhost".into()
            })
        );
        assert_eq!(
            given(&[("TOKEN_SERVER_ADDR", "")]).listen_addr(),
            Err(ConfigError::Empty { name: "TOKEN_SERVER_ADDR" })
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_values_are_errors() {
        use std::os::unix::ffi::OsStringExt;
        let cli = Cli { set: vec![("livekit_url", "LIVEKIT_URL", OsString::from_vec(vec![0xff]))] };
        assert_eq!(cli.config().unwrap_err(), ConfigError::NotUnicode { name: "LIVEKIT_URL" });
    }

    #[test]
    fn log_filters_are_levels_or_directives() {
        for filter in ["warn", "error", "off", "token_server=debug,tower_http=warn"] {
            assert_eq!(given(&[("--log-level", filter)]).log_filter().unwrap(), filter);
        }
        let error = given(&[("RUST_LOG", "token_server=loud")]).log_filter().unwrap_err();
        assert!(matches!(error, ConfigError::InvalidLogFilter { name: "RUST_LOG", .. }), "{error}");
    }

    #[test]
    fn the_command_line_is_parsed_by_clap_and_flags_are_named_as_flags() {
        let cli = Cli::try_parse_args(["token-server", "--ttl-secs", "0", "--log-level", "warn"])
            .unwrap();
        assert_eq!(
            cli.config().unwrap_err(),
            ConfigError::InvalidTtl { name: "--ttl-secs", value: "0".into() }
        );
        assert_eq!(cli.log_filter().unwrap(), "warn");
        let unknown = Cli::try_parse_args(["token-server", "--ttl", "5"]).unwrap_err();
        assert_eq!(unknown.kind(), clap::error::ErrorKind::UnknownArgument);
        let help = Cli::try_parse_args(["token-server", "--help"]).unwrap_err().to_string();
        for name in SETTINGS.iter().flat_map(|(_, flag, env)| [*flag, *env]) {
            assert!(help.contains(name), "--help names {name}:\n{help}");
        }
    }

    #[test]
    fn debug_shows_names_never_values() {
        let cli = given(&[("LIVEKIT_API_SECRET", "very-secret-value"), ("--bearer", "b-secret")]);
        let debug = format!("{cli:?}");
        assert_eq!(debug, r#"["LIVEKIT_API_SECRET", "--bearer"]"#);
    }
}
