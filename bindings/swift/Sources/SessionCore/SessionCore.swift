// SessionCore: the Swift face of the Rust `session-ffi` library.
//
// Apps import this module only. It re-exports the uniffi-generated module `SessionCoreBindings`
// (`AgentSession`, `TokenSource`, `TokenSourceResponse`, `TokenRequestOptions`, `Script`, the
// records, enums and errors) and adds thin Swift conveniences on top:
//
// - `Session`: an `ObservableObject` for SwiftUI over `AgentSession` (LiveKit's `Session`).
// - `TokenSourceConfigurable` with `fetch(_:)`, so a `struct` can be a token source (the seed
//   shape of LiveKit's docs); `TokenSource.custom { options in … }` for closures.
// - `AsyncStream`s for session events and cache events, closure-based observers, and
//   `Script.onChat { text in … }`.
//
// Every behaviour lives in Rust; nothing here decides anything the Rust library does not.
//
// Threading, in one place:
// - Every async call (`start`, `end`, `send`, `fetch`, …) runs on the Rust library's own tokio
//   runtime; the awaiting Swift task is suspended, never blocked.
// - Listener and observer callbacks (`SessionListener`, `CacheObserver`, `ChatResponder`,
//   and a custom token source's `fetch`) run on Rust threads. `Session` hops them to the main
//   actor in order; the `AsyncStream`s and closures here deliver them as they come.
// - uniffi does not forward Swift task cancellation into Rust: cancelling a Swift task that awaits
//   `start()` does not stop the start. Cancellation is explicit: `Session.end()` /
//   `AgentSession.end()`, `TaskHandle.cancel()`, ending an `AsyncStream` iteration, or releasing
//   the object. The other way round is forwarded: when Rust drops a pending custom-source fetch,
//   the Swift task running it is cancelled.

@_exported import SessionCoreBindings
