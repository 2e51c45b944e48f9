//! [`TokenRequestOptions`]: what a fetch asks for, and its JSON wire form.

use std::{collections::BTreeMap, fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// What to ask a token source for: the room, the participant and, optionally, an agent to
/// dispatch into the room.
///
/// Every field is optional. Two options values are equal when all their fields are equal
/// (attributes compared by value), and the cache of a [`crate::TokenSource`] is keyed by the
/// whole value: changing any field fetches a new token.
///
/// ```
/// use token_source::TokenRequestOptions;
///
/// let options = TokenRequestOptions::new()
///     .with_room_name("support-room")
///     .with_participant_identity("user-42")
///     .with_participant_attribute("tier", "gold")
///     .with_agent_name("support-agent");
/// assert!(options.dispatches_agent());
/// assert_eq!(options, options.clone());
/// ```
///
/// Through serde, a human-readable format (JSON…) must hold a map (an object): a JSON array is
/// an error, never a positional request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TokenRequestOptions {
    /// The room to join.
    pub room_name: Option<String>,
    /// The participant's display name.
    pub participant_name: Option<String>,
    /// The participant's identity (unique in the room).
    pub participant_identity: Option<String>,
    /// The participant's metadata.
    pub participant_metadata: Option<String>,
    /// The participant's attributes. An empty map is the same as no attributes.
    pub participant_attributes: BTreeMap<String, String>,
    /// The agent to dispatch into the room (sent as `room_config.agents[0].agent_name`).
    pub agent_name: Option<String>,
    /// Metadata for the dispatched agent (`room_config.agents[0].metadata`).
    pub agent_metadata: Option<String>,
    /// The agent deployment to dispatch from (`room_config.agents[0].deployment`).
    pub agent_deployment: Option<String>,
}

impl TokenRequestOptions {
    /// Options with every field unset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the room to join.
    pub fn with_room_name(mut self, room_name: impl Into<String>) -> Self {
        self.room_name = Some(room_name.into());
        self
    }

    /// Sets the participant's display name.
    pub fn with_participant_name(mut self, name: impl Into<String>) -> Self {
        self.participant_name = Some(name.into());
        self
    }

    /// Sets the participant's identity.
    pub fn with_participant_identity(mut self, identity: impl Into<String>) -> Self {
        self.participant_identity = Some(identity.into());
        self
    }

    /// Sets the participant's metadata.
    pub fn with_participant_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.participant_metadata = Some(metadata.into());
        self
    }

    /// Adds (or replaces) one participant attribute.
    pub fn with_participant_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.participant_attributes.insert(key.into(), value.into());
        self
    }

    /// Replaces all participant attributes.
    pub fn with_participant_attributes<K, V>(
        mut self,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.participant_attributes =
            attributes.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    /// Sets the agent to dispatch into the room.
    pub fn with_agent_name(mut self, agent_name: impl Into<String>) -> Self {
        self.agent_name = Some(agent_name.into());
        self
    }

    /// Sets the dispatched agent's metadata.
    pub fn with_agent_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.agent_metadata = Some(metadata.into());
        self
    }

    /// Sets the agent deployment to dispatch from.
    pub fn with_agent_deployment(mut self, deployment: impl Into<String>) -> Self {
        self.agent_deployment = Some(deployment.into());
        self
    }

    /// Whether any agent field is set, so that the request asks for an agent dispatch.
    pub fn dispatches_agent(&self) -> bool {
        self.agent_name.is_some()
            || self.agent_metadata.is_some()
            || self.agent_deployment.is_some()
    }

    /// The JSON body a token endpoint receives for these options.
    ///
    /// Keys are snake_case; unset fields are omitted (never `null`); agent fields are nested as
    /// `room_config.agents[0]` and `room_config` is present only when an agent field is set.
    /// Options with nothing set serialize to `{}`.
    ///
    /// ```
    /// use token_source::TokenRequestOptions;
    ///
    /// let body = TokenRequestOptions::new().with_room_name("r").with_agent_name("a").to_request_json();
    /// assert_eq!(body, r#"{"room_name":"r","room_config":{"agents":[{"agent_name":"a"}]}}"#);
    /// assert_eq!(TokenRequestOptions::new().to_request_json(), "{}");
    /// ```
    pub fn to_request_json(&self) -> String {
        let agents = self.dispatches_agent().then(|| WireRoomConfig {
            agents: vec![WireAgentDispatch {
                agent_name: self.agent_name.clone(),
                metadata: self.agent_metadata.clone(),
                deployment: self.agent_deployment.clone(),
            }],
        });
        let request = WireRequestRef {
            room_name: self.room_name.as_deref(),
            participant_name: self.participant_name.as_deref(),
            participant_identity: self.participant_identity.as_deref(),
            participant_metadata: self.participant_metadata.as_deref(),
            participant_attributes: &self.participant_attributes,
            room_config: agents,
        };
        // Serializing strings and a string map into a String cannot fail.
        serde_json::to_string(&request).unwrap_or_else(|_| String::from("{}"))
    }

    /// Parses a token request body, as a token endpoint receives it (the inverse of
    /// [`to_request_json`](Self::to_request_json)).
    ///
    /// Accepts snake_case or camelCase keys and an empty body (no options). Anything else than
    /// a JSON object (an array, a string, `null`…) is an error, and so is a non-object where
    /// the format has an object (`room_config`, each of its `agents`). Only the first agent of
    /// `room_config.agents` is read; other `room_config` fields are ignored.
    pub fn from_request_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let Object(wire): Object<WireRequest> = serde_json::from_slice(body)?;
        let agent = wire
            .room_config
            .and_then(|Object(config)| config.agents.into_iter().next())
            .map(|Object(agent)| agent);
        Ok(Self {
            room_name: wire.room_name,
            participant_name: wire.participant_name,
            participant_identity: wire.participant_identity,
            participant_metadata: wire.participant_metadata,
            participant_attributes: wire.participant_attributes.unwrap_or_default(),
            agent_name: agent.as_ref().and_then(|a| a.agent_name.clone()),
            agent_metadata: agent.as_ref().and_then(|a| a.metadata.clone()),
            agent_deployment: agent.and_then(|a| a.deployment),
        })
    }
}

#[derive(Serialize)]
struct WireRequestRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    room_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_identity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participant_metadata: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    participant_attributes: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room_config: Option<WireRoomConfig>,
}

#[derive(Serialize)]
struct WireRoomConfig {
    agents: Vec<WireAgentDispatch>,
}

#[derive(Deserialize)]
struct WireRoomConfigIn {
    #[serde(default)]
    agents: Vec<Object<WireAgentDispatch>>,
}

#[derive(Serialize, Deserialize)]
struct WireAgentDispatch {
    #[serde(skip_serializing_if = "Option::is_none", alias = "agentName")]
    agent_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment: Option<String>,
}

#[derive(Deserialize)]
struct WireRequest {
    #[serde(default, alias = "roomName")]
    room_name: Option<String>,
    #[serde(default, alias = "participantName")]
    participant_name: Option<String>,
    #[serde(default, alias = "participantIdentity")]
    participant_identity: Option<String>,
    #[serde(default, alias = "participantMetadata")]
    participant_metadata: Option<String>,
    #[serde(default, alias = "participantAttributes")]
    participant_attributes: Option<BTreeMap<String, String>>,
    #[serde(default, alias = "roomConfig")]
    room_config: Option<Object<WireRoomConfigIn>>,
}

/// A `T` that must be written as a map (a JSON object): serde's derive also accepts a sequence
/// for a struct, which would make `["my-room", "Alice"]` a positional request.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// The derived form of [`TokenRequestOptions`], field by field.
#[derive(Deserialize)]
#[serde(remote = "TokenRequestOptions", default = "TokenRequestOptions::default")]
struct OptionsFields {
    room_name: Option<String>,
    participant_name: Option<String>,
    participant_identity: Option<String>,
    participant_metadata: Option<String>,
    participant_attributes: BTreeMap<String, String>,
    agent_name: Option<String>,
    agent_metadata: Option<String>,
    agent_deployment: Option<String>,
}

/// Its fields, from a map only in human-readable formats; compact formats (which write structs
/// as sequences) read them as derived.
impl<'de> Deserialize<'de> for TokenRequestOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields(TokenRequestOptions);
        impl<'de> Deserialize<'de> for Fields {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                OptionsFields::deserialize(deserializer).map(Fields)
            }
        }
        if deserializer.is_human_readable() {
            Object::<Fields>::deserialize(deserializer).map(|Object(Fields(options))| options)
        } else {
            OptionsFields::deserialize(deserializer)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn body(options: &TokenRequestOptions) -> serde_json::Value {
        serde_json::from_str(&options.to_request_json()).unwrap()
    }

    #[test]
    fn full_request_body_is_exact() {
        let options = TokenRequestOptions::new()
            .with_room_name("room")
            .with_participant_name("Alice")
            .with_participant_identity("alice")
            .with_participant_metadata("meta")
            .with_participant_attribute("k", "v")
            .with_agent_name("agent")
            .with_agent_metadata("agent meta")
            .with_agent_deployment("prod");
        assert_eq!(
            body(&options),
            json!({
                "room_name": "room",
                "participant_name": "Alice",
                "participant_identity": "alice",
                "participant_metadata": "meta",
                "participant_attributes": {"k": "v"},
                "room_config": {"agents": [{"agent_name": "agent", "metadata": "agent meta", "deployment": "prod"}]}
            })
        );
    }

    #[test]
    fn no_room_config_without_agent_fields_and_no_nulls() {
        let options = TokenRequestOptions::new().with_participant_identity("bob");
        assert_eq!(options.to_request_json(), r#"{"participant_identity":"bob"}"#);
        assert_eq!(TokenRequestOptions::new().to_request_json(), "{}");
    }

    #[test]
    fn single_agent_fields_nest_without_the_others() {
        let only_metadata = TokenRequestOptions::new().with_agent_metadata("m");
        assert_eq!(body(&only_metadata), json!({"room_config": {"agents": [{"metadata": "m"}]}}));
        let only_deployment = TokenRequestOptions::new().with_agent_deployment("d");
        assert_eq!(
            body(&only_deployment),
            json!({"room_config": {"agents": [{"deployment": "d"}]}})
        );
        let only_name = TokenRequestOptions::new().with_agent_name("n");
        assert_eq!(body(&only_name), json!({"room_config": {"agents": [{"agent_name": "n"}]}}));
    }

    #[test]
    fn equality_is_deep_and_covers_every_field() {
        let a = TokenRequestOptions::new().with_participant_attribute("k", "v");
        let b = TokenRequestOptions::new().with_participant_attributes([("k", "v")]);
        assert_eq!(a, b);
        assert_eq!(TokenRequestOptions::new(), TokenRequestOptions::default());
        let base = TokenRequestOptions::new();
        let variants = [
            base.clone().with_room_name("x"),
            base.clone().with_participant_name("x"),
            base.clone().with_participant_identity("x"),
            base.clone().with_participant_metadata("x"),
            base.clone().with_participant_attribute("x", "y"),
            base.clone().with_agent_name("x"),
            base.clone().with_agent_metadata("x"),
            base.clone().with_agent_deployment("x"),
        ];
        for (i, a) in variants.iter().enumerate() {
            assert_ne!(*a, base, "field {i} must count");
            assert_ne!(base, *a, "field {i} must count both ways");
            for (j, b) in variants.iter().enumerate() {
                assert_eq!(i == j, a == b);
            }
        }
        let foo = TokenRequestOptions::new().with_agent_name("foo");
        let bar = TokenRequestOptions::new().with_agent_name("bar").with_agent_metadata("baz");
        assert_ne!(foo, bar);
        assert_ne!(bar, foo);
    }

    #[test]
    fn parses_camel_case_and_empty_bodies() {
        assert_eq!(
            TokenRequestOptions::from_request_json(b"").unwrap(),
            TokenRequestOptions::new()
        );
        assert_eq!(
            TokenRequestOptions::from_request_json(b" {} ").unwrap(),
            TokenRequestOptions::new()
        );
        let parsed = TokenRequestOptions::from_request_json(
            br#"{"roomName":"r","roomConfig":{"agents":[{"agentName":"a"}],"name":"x"},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(parsed, TokenRequestOptions::new().with_room_name("r").with_agent_name("a"));
        assert!(TokenRequestOptions::from_request_json(b"[1,2]").is_err());
        assert!(TokenRequestOptions::from_request_json(br#"{"room_name":5}"#).is_err());
    }

    /// Issue 12, finding 6: a JSON array (or any other non-object) is not a token request, as a
    /// body (`from_request_json`), through serde, or nested where an object belongs.
    #[test]
    fn only_json_objects_are_requests() {
        for body in [
            r#"["my-room","Alice","alice-id"]"#,
            "[]",
            "42",
            r#""my-room""#,
            "true",
            "null",
            r#"{"room_config":[[{"agent_name":"a"}]]}"#,
            r#"{"room_config":{"agents":[["a"]]}}"#,
        ] {
            assert!(TokenRequestOptions::from_request_json(body.as_bytes()).is_err(), "{body}");
            if !body.starts_with('{') {
                let serde = serde_json::from_str::<TokenRequestOptions>(body);
                assert!(serde.is_err(), "{body}: {serde:?}");
            }
        }
        let object = r#"{"room_name":"my-room","participant_name":"Alice"}"#;
        let parsed: TokenRequestOptions = serde_json::from_str(object).unwrap();
        assert_eq!(
            parsed,
            TokenRequestOptions::new().with_room_name("my-room").with_participant_name("Alice")
        );
    }

    fn has_null(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Null => true,
            serde_json::Value::Array(items) => items.iter().any(has_null),
            serde_json::Value::Object(map) => map.values().any(has_null),
            _ => false,
        }
    }

    fn arb_options() -> impl Strategy<Value = TokenRequestOptions> {
        let field = || proptest::option::of(".{0,12}");
        (
            (field(), field(), field(), field()),
            proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..3),
            (field(), field(), field()),
        )
            .prop_map(
                |((room, name, identity, metadata), attributes, (agent, agent_meta, dep))| {
                    TokenRequestOptions {
                        room_name: room,
                        participant_name: name,
                        participant_identity: identity,
                        participant_metadata: metadata,
                        participant_attributes: attributes,
                        agent_name: agent,
                        agent_metadata: agent_meta,
                        agent_deployment: dep,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn request_json_round_trips(options in arb_options()) {
            let json = options.to_request_json();
            prop_assert!(!has_null(&serde_json::from_str(&json).unwrap()));
            prop_assert_eq!(TokenRequestOptions::from_request_json(json.as_bytes()).unwrap(), options);
        }

        #[test]
        fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = TokenRequestOptions::from_request_json(&bytes);
        }
    }
}
