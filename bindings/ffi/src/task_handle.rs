//! `TaskHandle`: stops an observation when cancelled or dropped.

use std::sync::{Arc, Mutex, PoisonError};

/// What a handle stops.
#[derive(Debug)]
enum Stoppable {
    Task(tokio::task::AbortHandle),
    /// A cache subscription, which ends when it is dropped.
    Subscription {
        _held: token_source::Subscription,
    },
}

/// Keeps an observer running; [`cancel`](Self::cancel) (or dropping the handle) stops it.
/// Swift and Kotlin do not forward their task cancellation into Rust, so this is how an
/// observation ends.
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle {
    stoppable: Mutex<Option<Stoppable>>,
}

impl TaskHandle {
    pub(crate) fn for_task(task: tokio::task::AbortHandle) -> Arc<Self> {
        Arc::new(Self { stoppable: Mutex::new(Some(Stoppable::Task(task))) })
    }

    pub(crate) fn for_subscription(subscription: token_source::Subscription) -> Arc<Self> {
        Arc::new(Self {
            stoppable: Mutex::new(Some(Stoppable::Subscription { _held: subscription })),
        })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the observer. Idempotent.
    pub fn cancel(&self) {
        let stoppable = self.stoppable.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Stoppable::Task(task)) = stoppable {
            task.abort();
        }
        // A subscription ends when it is dropped, here.
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.stoppable.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
