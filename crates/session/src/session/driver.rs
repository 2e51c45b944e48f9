//! The session's plumbing: publishing the core's changes, installing a connection, and the
//! driver task that follows the room (translating its facts and firing the core's deadlines).

use std::sync::{Arc, MutexGuard, PoisonError};

use tokio::time::Instant;

use super::{Inner, SessionEvent, Shared};
use crate::{
    ConnectionState,
    core::{Change, messages::MessageChange},
    error::{ConnectionError, SessionError, TransportError},
    room::facts::RoomFact,
    translate::{RoomEvent, Translator},
    transport::{FactReceiver, TransportLink},
};

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the core's changes to every subscriber (dropping closed ones).
    pub(super) fn publish(&self, inner: &mut Inner) {
        let changes = inner.core.take_changes();
        for change in changes {
            let event = match change {
                Change::State(state) => {
                    self.states.send_replace(state);
                    SessionEvent::ConnectionStateChanged(state)
                }
                Change::Agent => SessionEvent::AgentChanged(inner.core.agent().clone()),
                Change::Error => SessionEvent::ErrorChanged(inner.core.error().cloned()),
                Change::Disconnected(reason) => {
                    inner.last_disconnect = Some(reason.clone());
                    SessionEvent::Disconnected(reason)
                }
                Change::Message(MessageChange::Added(index)) => match inner.core.message(index) {
                    Some(message) => {
                        SessionEvent::MessageInserted { index, message: message.clone() }
                    }
                    None => continue,
                },
                Change::Message(MessageChange::Updated(index)) => match inner.core.message(index) {
                    Some(message) => {
                        SessionEvent::MessageReplaced { index, message: message.clone() }
                    }
                    None => continue,
                },
                Change::Track(change) => change.into(),
                Change::MessagesRestored => {
                    SessionEvent::MessagesReset(inner.core.messages().to_vec())
                }
            };
            if !inner.subscribers.is_empty() {
                inner.subscribers.retain(|subscriber| subscriber.send(event.clone()).is_ok());
            }
        }
    }

    pub(super) fn start_failed(&self, attempt: u64, error: ConnectionError) -> SessionError {
        let mut inner = self.lock();
        if inner.attempt != attempt {
            return SessionError::Cancelled;
        }
        inner.core.start_failed(error.clone());
        self.publish(&mut inner);
        SessionError::Connection(error)
    }

    /// Makes the joined room the session's: applies the facts it already reported (its
    /// snapshot first) and starts the task that follows it.
    pub(super) fn install(
        self: &Arc<Self>,
        attempt: u64,
        link: Arc<dyn TransportLink>,
        mut facts: FactReceiver,
        dispatches_agent: bool,
    ) -> Result<(), SessionError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let error = TransportError::failed("a session needs a tokio runtime");
            return Err(self.start_failed(attempt, ConnectionError::Transport(error)));
        };
        let mut inner = self.lock();
        if inner.attempt != attempt || inner.core.state() != ConnectionState::Connecting {
            return Err(SessionError::Cancelled);
        }
        inner.core.connected(dispatches_agent, Instant::now());
        inner.translator = Translator::new();
        inner.link = Some(link);
        while let Ok(fact) = facts.try_recv() {
            self.apply_fact(&mut inner, fact);
        }
        if inner.core.state() == ConnectionState::Disconnected {
            inner.link = None;
        } else {
            inner.driver = Some(runtime.spawn(drive(Arc::clone(self), facts, attempt)));
        }
        self.publish(&mut inner);
        Ok(())
    }

    /// Translates one fact and applies what it means.
    fn apply_fact(&self, inner: &mut Inner, fact: RoomFact) {
        let now = Instant::now();
        let wall = self.options.clock.now();
        for event in inner.translator.translate(fact) {
            inner.core.apply(event, now, wall);
        }
    }
}

/// Follows the room: applies its facts and fires the agent deadlines, until the connection
/// ends or the attempt is superseded (the session's `end` or drop aborts it).
async fn drive(shared: Arc<Shared>, mut facts: FactReceiver, attempt: u64) {
    loop {
        let deadline = shared.lock().core.next_deadline();
        let fact = tokio::select! {
            fact = facts.recv() => Some(fact),
            () = sleep_until(deadline) => None,
        };
        let mut inner = shared.lock();
        if inner.attempt != attempt {
            return;
        }
        match fact {
            Some(Some(fact)) => shared.apply_fact(&mut inner, fact),
            Some(None) => {
                // Every sink is gone without a `Disconnected`: the connection was lost.
                let lost = RoomEvent::Disconnected(crate::DisconnectReason::ConnectionLost);
                let wall = shared.options.clock.now();
                inner.core.apply(lost, Instant::now(), wall);
            }
            None => inner.core.on_timer(Instant::now()),
        }
        shared.publish(&mut inner);
        if inner.core.state() == ConnectionState::Disconnected {
            inner.link = None;
            // This task's own handle: dropping it does not stop the task.
            inner.driver = None;
            return;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
