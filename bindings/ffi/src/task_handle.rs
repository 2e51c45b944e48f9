//! `TaskHandle`: stops an observation when cancelled or dropped.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

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
    gate: Gate,
}

impl TaskHandle {
    pub(crate) fn for_task(task: tokio::task::AbortHandle, gate: Gate) -> Arc<Self> {
        Arc::new(Self { stoppable: Mutex::new(Some(Stoppable::Task(task))), gate })
    }

    pub(crate) fn for_subscription(
        subscription: token_source::Subscription,
        gate: Gate,
    ) -> Arc<Self> {
        Arc::new(Self {
            stoppable: Mutex::new(Some(Stoppable::Subscription { _held: subscription })),
            gate,
        })
    }
}

/// Lets callbacks through until its handle is cancelled, so that no callback starts after
/// `cancel()` returns (an aborted task or a removed observer could otherwise deliver one more
/// event that was already on its way). A callback that fails (a foreign exception arrives as a
/// `CallbackError`) or panics loses that one event; later events are still delivered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate(Arc<AtomicBool>);

impl Gate {
    /// Calls `callback` unless the handle was cancelled.
    pub(crate) fn call<E>(&self, callback: impl FnOnce() -> Result<(), E>) {
        if self.0.load(Ordering::Acquire) {
            return;
        }
        // One bad event must not end the observation.
        let _ = catch_unwind(AssertUnwindSafe(callback));
    }

    fn close(&self) {
        self.0.store(true, Ordering::Release);
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the observer. Idempotent.
    pub fn cancel(&self) {
        self.gate.close();
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn a_closed_gate_lets_nothing_through_and_a_panic_is_contained() {
        let gate = Gate::default();
        let calls = AtomicUsize::new(0);
        let count = || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<(), ()>(())
        };
        gate.call(|| -> Result<(), ()> { panic!("a bug") });
        gate.call(|| Err::<(), _>("a foreign exception"));
        gate.call(count);
        gate.close();
        gate.call(count);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
