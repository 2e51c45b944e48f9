import Foundation

// Swift objects that implement the generated callback protocols. Rust holds them (through
// uniffi's handle map) for as long as it needs them and calls them on its own threads, so each
// is Sendable and keeps no mutable state.
//
// Forwarders into an `AsyncStream` are `@unchecked Sendable`: their only state is the stream's
// continuation, which is thread-safe, but whose `Sendable` conformance requires a `Sendable`
// element, and the generated records and enums are declared `Sendable` only by Swift 6
// compilers (`#if compiler(>=6)` in the generated file).

/// A Swift token source (closure or ``TokenSourceConfigurable``) as the generated, class-bound
/// protocol that `TokenSource.custom(source:)` takes.
final class ForeignTokenSource: SessionCoreBindings.TokenSourceConfigurable {
    typealias Fetch = @Sendable (TokenRequestOptions) async throws -> TokenSourceResponse

    private let body: Fetch

    init(_ body: @escaping Fetch) {
        self.body = body
    }

    /// Calls the Swift source. A thrown `TokenSourceError` passes through unchanged; any other
    /// error becomes `.Custom(reason:)` with its `localizedDescription` (not its full
    /// description, which for `NSError`s includes the user info, such as a failing URL).
    func fetch(options: TokenRequestOptions) async throws -> TokenSourceResponse {
        do {
            return try await body(options)
        } catch let error as TokenSourceError {
            throw error
        } catch {
            throw TokenSourceError.Custom(reason: error.localizedDescription)
        }
    }
}

/// Yields cache events into a stream; finishing the stream when Rust releases the observer.
final class CacheEventForwarder: CacheObserver, @unchecked Sendable {
    private let continuation: AsyncStream<CacheEvent>.Continuation

    init(_ continuation: AsyncStream<CacheEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: CacheEvent) {
        continuation.yield(event)
    }

    deinit {
        continuation.finish()
    }
}

/// A closure as a `CacheObserver`.
final class ClosureCacheObserver: CacheObserver {
    private let body: @Sendable (CacheEvent) -> Void

    init(_ body: @escaping @Sendable (CacheEvent) -> Void) {
        self.body = body
    }

    func onEvent(event: CacheEvent) {
        body(event)
    }
}

/// Yields session events into a stream, in the order Rust delivers them (one listener is called
/// by one Rust task, sequentially); finishes the stream when Rust releases the listener (the
/// observation was cancelled or the session is gone).
final class SessionEventForwarder: SessionListener, @unchecked Sendable {
    private let continuation: AsyncStream<SessionEvent>.Continuation

    init(_ continuation: AsyncStream<SessionEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: SessionEvent) {
        continuation.yield(event)
    }

    deinit {
        continuation.finish()
    }
}

/// A closure as a `SessionListener`.
final class ClosureSessionListener: SessionListener {
    private let body: @Sendable (SessionEvent) -> Void

    init(_ body: @escaping @Sendable (SessionEvent) -> Void) {
        self.body = body
    }

    func onEvent(event: SessionEvent) {
        body(event)
    }
}

/// A closure as a `ChatResponder`.
final class ClosureChatResponder: ChatResponder {
    private let body: @Sendable (String) -> Script

    init(_ body: @escaping @Sendable (String) -> Script) {
        self.body = body
    }

    func reply(text: String) -> Script {
        body(text)
    }
}
