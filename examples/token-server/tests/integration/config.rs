//! The configuration's public surface.

use token_server::TokenServerConfig;

#[test]
fn debug_of_the_config_contains_no_secret() {
    let config = TokenServerConfig::default()
        .with_api_key("APIpublicKey")
        .with_api_secret("Xk29fjQpL0sd8-super-private")
        .with_bearer_token("bearer-super-private")
        .with_auth(|_| Ok(()))
        .with_bearer_token("bearer-super-private");
    let debug = format!("{config:?}");
    assert!(!debug.contains("super-private"), "{debug}");
    assert!(debug.contains("APIpublicKey"), "the key is not a secret: {debug}");
    assert!(debug.contains("<redacted"), "{debug}");
    let pretty = format!("{config:#?}");
    assert!(!pretty.contains("super-private"), "{pretty}");
}

#[test]
fn a_production_config_validates() {
    let config = TokenServerConfig::new()
        .with_api_key("APIkey")
        .with_api_secret("secret-value")
        .with_livekit_url("wss://project.livekit.cloud")
        .with_allowed_origin("https://app.example.com")
        .with_bearer_token("token");
    assert!(config.validate().is_ok());
    assert!(!config.uses_dev_keys() && config.requires_auth());
    assert!(!config.without_auth().requires_auth());
}
