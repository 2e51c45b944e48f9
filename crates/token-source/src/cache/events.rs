//! What the cache reports: [`CacheEvent`]s, as `tracing` events and to subscribed observers.

use std::{
    fmt,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use crate::TokenSourceError;

/// Something the cache did. Events never carry tokens or request options.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CacheEvent {
    /// A fetch was answered from the cache.
    Hit,
    /// A fetch could not be answered from the cache and started an upstream fetch.
    Miss {
        /// Why the cache could not answer.
        reason: MissReason,
    },
    /// A fetch joined an upstream fetch for the same options that was already in flight.
    Joined,
    /// A background refresh of a token that is about to expire started.
    RefreshStarted,
    /// An upstream fetch succeeded and its response was cached.
    Stored {
        /// Whether it was a background refresh.
        refresh: bool,
    },
    /// An upstream fetch succeeded after [`invalidate`](crate::CachingTokenSource::invalidate):
    /// its waiters got the response, but it was not cached.
    Discarded,
    /// An upstream fetch failed. The cache is unchanged.
    Failed {
        /// The error (it never contains a token).
        error: TokenSourceError,
        /// Whether it was a background refresh (whose callers kept the cached token).
        refresh: bool,
    },
    /// The cache was cleared.
    Invalidated,
}

/// Why a fetch was not answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// Nothing is cached for these options.
    NotCached,
    /// The cached token expires within the expiry margin (or has expired).
    Expired,
    /// The cached token's `nbf` is still in the future.
    NotYetValid,
    /// The cached token has no `exp` or is not a JWT, so it is never served from the cache.
    Uncacheable,
    /// A custom validator rejected the cached token.
    Rejected,
    /// The caller asked for a fresh token ([`refetch`](crate::CachingTokenSource::refetch)).
    Forced,
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MissReason::NotCached => "not cached",
            MissReason::Expired => "expired",
            MissReason::NotYetValid => "not yet valid",
            MissReason::Uncacheable => "uncacheable token",
            MissReason::Rejected => "rejected by validator",
            MissReason::Forced => "forced",
        })
    }
}

type Observer = Arc<dyn Fn(&CacheEvent) + Send + Sync>;

/// The observers of one cache.
#[derive(Default)]
pub(crate) struct Observers {
    any: AtomicBool,
    next_id: AtomicU64,
    list: Mutex<Vec<(u64, Observer)>>,
}

impl Observers {
    pub(crate) fn subscribe(self: &Arc<Self>, observer: Observer) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.push((id, observer));
        self.any.store(true, Ordering::Release);
        Subscription { observers: Arc::downgrade(self), id }
    }

    fn unsubscribe(&self, id: u64) {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.retain(|(existing, _)| *existing != id);
        self.any.store(!list.is_empty(), Ordering::Release);
    }

    /// Logs `event` and hands it to every observer. Never called with a cache lock held, so an
    /// observer may call back into the cache.
    pub(crate) fn emit(&self, event: CacheEvent) {
        match &event {
            CacheEvent::Hit => tracing::trace!(target: "token_source::cache", "hit"),
            CacheEvent::Failed { error, refresh } => {
                tracing::debug!(target: "token_source::cache", %error, refresh, "upstream fetch failed");
            }
            other => tracing::debug!(target: "token_source::cache", event = ?other),
        }
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let observers: Vec<Observer> = self
            .list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(_, observer)| Arc::clone(observer))
            .collect();
        for observer in observers {
            observer(&event);
        }
    }
}

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.list.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Observers").field("count", &count).finish()
    }
}

/// Keeps an observer subscribed; dropping it unsubscribes.
#[derive(Debug)]
#[must_use = "the observer is unsubscribed when the Subscription is dropped"]
pub struct Subscription {
    observers: Weak<Observers>,
    id: u64,
}

impl Subscription {
    /// A subscription to nothing (for sources without a cache).
    pub(crate) fn none() -> Self {
        Self { observers: Weak::new(), id: 0 }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(observers) = self.observers.upgrade() {
            observers.unsubscribe(self.id);
        }
    }
}
