//! Where cached tokens live: the [`TokenStore`] trait and the default in-memory store.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{TokenClaims, TokenRequestOptions, TokenSourceResponse};

/// One cached response with the options it was fetched for and its validity window, decoded
/// once when the entry is created.
///
/// Cloning is cheap (the entry is shared). It serializes as `{"options": …, "response": …}`
/// for stores that persist tokens; the claims are decoded again when it is deserialized.
#[derive(Clone)]
pub struct CachedToken {
    inner: Arc<Entry>,
}

struct Entry {
    options: TokenRequestOptions,
    response: TokenSourceResponse,
    not_before: Option<SystemTime>,
    expires_at: Option<SystemTime>,
    is_jwt: bool,
    /// A random fraction in `[0, 1)`, fixed per entry, that spreads refresh-ahead over the
    /// jitter interval.
    jitter_fraction: f64,
}

impl CachedToken {
    /// An entry for `response`, fetched for `options`. Decodes the token's `exp` and `nbf`.
    pub fn new(options: TokenRequestOptions, response: TokenSourceResponse) -> Self {
        let claims = TokenClaims::decode(response.participant_token());
        let (is_jwt, not_before, expires_at) = match &claims {
            Ok(claims) => (true, claims.not_before(), claims.expires_at()),
            Err(_) => (false, None, None),
        };
        Self {
            inner: Arc::new(Entry {
                options,
                response,
                not_before,
                expires_at,
                is_jwt,
                jitter_fraction: fastrand::f64(),
            }),
        }
    }

    /// The options the response was fetched for.
    pub fn options(&self) -> &TokenRequestOptions {
        &self.inner.options
    }

    /// The cached response.
    pub fn response(&self) -> &TokenSourceResponse {
        &self.inner.response
    }

    /// The token's expiry (`exp`), if it is a JWT with one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// The token's not-before time (`nbf`), if it is a JWT with one.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.inner.not_before
    }

    /// Whether the token's claims could be decoded.
    pub fn is_jwt(&self) -> bool {
        self.inner.is_jwt
    }

    /// The point in `[0, jitter)` by which this entry's refresh moves earlier.
    pub(crate) fn jitter_offset(&self, jitter: Duration) -> Duration {
        jitter.mul_f64(self.inner.jitter_fraction)
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("options", self.options())
            .field("response", self.response())
            .field("not_before", &self.not_before())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredForm<O, R> {
    options: O,
    response: R,
}

impl Serialize for CachedToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredForm { options: self.options(), response: self.response() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CachedToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored =
            StoredForm::<TokenRequestOptions, TokenSourceResponse>::deserialize(deserializer)?;
        Ok(CachedToken::new(stored.options, stored.response))
    }
}

/// Storage for cached tokens, keyed by request options.
///
/// The cache calls these methods on every fetch, synchronously and while coordinating
/// concurrent fetches, so they must be quick: keep a persistent store's tokens in memory and
/// write through to disk or the keychain. Implementations decide how many entries to keep.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The entry for exactly these options, if there is one.
    fn get(&self, options: &TokenRequestOptions) -> Option<CachedToken>;
    /// Stores `entry`, replacing any entry for the same options.
    fn put(&self, entry: CachedToken);
    /// The most recently stored entry.
    fn latest(&self) -> Option<CachedToken>;
    /// Removes every entry.
    fn clear(&self);
}

/// The default store: the `capacity` most recently used entries, in memory.
///
/// With the default capacity of 1 it is the single slot of LiveKit's SDKs: fetching with other
/// options replaces the cached token. Lookups scan the entries, so keep the capacity small
/// (a handful of rooms or identities).
#[derive(Debug)]
pub struct MemoryTokenStore {
    capacity: usize,
    /// Most recently used first.
    entries: Mutex<Vec<CachedToken>>,
}

impl MemoryTokenStore {
    /// A store that keeps up to `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { capacity, entries: Mutex::new(Vec::with_capacity(capacity)) }
    }

    /// How many entries it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<CachedToken>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new(1)
    }
}

impl TokenStore for MemoryTokenStore {
    fn get(&self, options: &TokenRequestOptions) -> Option<CachedToken> {
        let mut entries = self.entries();
        let index = entries.iter().position(|entry| entry.options() == options)?;
        if index > 0 {
            entries[..=index].rotate_right(1);
        }
        Some(entries[0].clone())
    }

    fn put(&self, entry: CachedToken) {
        let mut entries = self.entries();
        entries.retain(|existing| existing.options() != entry.options());
        entries.insert(0, entry);
        entries.truncate(self.capacity);
    }

    fn latest(&self) -> Option<CachedToken> {
        self.entries().first().cloned()
    }

    fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(room: &str) -> CachedToken {
        CachedToken::new(
            TokenRequestOptions::new().with_room_name(room),
            TokenSourceResponse::new("wss://a", format!("token-{room}")),
        )
    }

    #[test]
    fn keeps_the_most_recently_used_entries() {
        let store = MemoryTokenStore::new(2);
        store.put(entry("a"));
        store.put(entry("b"));
        // Using "a" makes "b" the least recently used, so "c" evicts "b".
        assert!(store.get(&TokenRequestOptions::new().with_room_name("a")).is_some());
        store.put(entry("c"));
        assert!(store.get(&TokenRequestOptions::new().with_room_name("b")).is_none());
        assert!(store.get(&TokenRequestOptions::new().with_room_name("a")).is_some());
        assert_eq!(store.latest().unwrap().options(), entry("a").options());
    }

    #[test]
    fn single_slot_by_default_and_replacing_same_options() {
        let store = MemoryTokenStore::default();
        assert_eq!(store.capacity(), 1);
        store.put(entry("a"));
        store.put(entry("a"));
        store.put(entry("b"));
        assert!(store.get(&TokenRequestOptions::new().with_room_name("a")).is_none());
        assert!(store.get(&TokenRequestOptions::new().with_room_name("b")).is_some());
        store.clear();
        assert!(store.latest().is_none());
        assert_eq!(MemoryTokenStore::new(0).capacity(), 1);
    }

    #[test]
    fn entries_round_trip_through_serde_and_redact_debug() {
        let original = entry("a");
        let json = serde_json::to_string(&original).unwrap();
        let restored: CachedToken = serde_json::from_str(&json).unwrap();
        assert_eq!(restored.options(), original.options());
        assert_eq!(restored.response(), original.response());
        assert!(!format!("{original:?}").contains("token-a"));
        assert!(!original.is_jwt());
    }
}
