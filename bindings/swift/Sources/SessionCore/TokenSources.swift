import Foundation

/// Your own token source, in the shape LiveKit's Swift SDK documents:
///
/// ```swift
/// struct MyTokenSource: TokenSourceConfigurable {
///     func fetch(_ options: TokenRequestOptions) async throws -> TokenSourceResponse {
///         let token = try await myBackend.participantToken(
///             room: options.roomName, name: options.participantName, agent: options.agentName)
///         return TokenSourceResponse(serverURL: "wss://my-project.livekit.cloud", participantToken: token)
///     }
/// }
///
/// let session = Session(tokenSource: MyTokenSource())     // cached by the Rust library
/// let source = TokenSource.custom(MyTokenSource())         // or as a `TokenSource`
/// ```
///
/// A conforming type is wrapped into a **cached** `TokenSource` (`TokenSource.custom(_:)`):
/// a token is reused for the same options until 60 s before it expires (a JWT without `exp` is
/// never cached), and concurrent fetches for the same options share one call.
///
/// ## How this differs from the generated protocol
/// `SessionCoreBindings` also declares a `TokenSourceConfigurable` (uniffi's form of the Rust
/// trait). This protocol shadows it for every file that imports `SessionCore`, and differs in two
/// ways:
/// - any type may conform, a `struct` included (the generated protocol is class-bound);
/// - the requirement is `fetch(_:)` (the generated one is `fetch(options:)`).
///
/// A class that implements the generated protocol directly still works with the generated
/// `TokenSource.custom(source:)`; name it `SessionCoreBindings.TokenSourceConfigurable`.
///
/// ## Errors and cancellation
/// Throw a `TokenSourceError` to choose what sessions report (for example
/// `.Http(status: 401, reason: "…")`); it reaches `SessionError.Connection(tokenSource:)` unchanged.
/// Any other error becomes `TokenSourceError.Custom(reason:)` with the error's
/// `localizedDescription`. `fetch` runs on a Rust thread; if Rust abandons the fetch, the Swift task
/// running it is cancelled, so cancellable work (URLSession, `Task.sleep`) stops early.
public protocol TokenSourceConfigurable: Sendable {
    /// Credentials for `options`. Every field of `options` is optional.
    func fetch(_ options: TokenRequestOptions) async throws -> TokenSourceResponse
}

extension TokenSource {
    /// A cached token source backed by an async closure: the Swift form of LiveKit's
    /// `TokenSource.custom`.
    ///
    /// ```swift
    /// let source = TokenSource.custom { options in
    ///     let token = try await myBackend.participantToken(room: options.roomName)
    ///     return TokenSourceResponse(serverURL: "wss://my-project.livekit.cloud", participantToken: token)
    /// }
    /// let credentials = try await source.fetch(TokenRequestOptions(roomName: "support"))
    /// ```
    ///
    /// Caching, errors and cancellation are as for ``TokenSourceConfigurable``. The closure runs on a
    /// Rust thread and may run concurrently for different options.
    public static func custom(
        _ fetch: @escaping @Sendable (TokenRequestOptions) async throws -> TokenSourceResponse
    ) -> TokenSource {
        TokenSource.custom(source: ForeignTokenSource(fetch))
    }

    /// A cached token source backed by `source` (see ``TokenSourceConfigurable``).
    public static func custom(_ source: some TokenSourceConfigurable) -> TokenSource {
        TokenSource.custom(source: ForeignTokenSource { options in try await source.fetch(options) })
    }

    /// Credentials for `options`, from the cache when a cached token is still valid.
    ///
    /// Throws `TokenSourceError`. The same as the generated `fetch(options:)`, with the options
    /// unlabeled and defaulted.
    public func fetch(_ options: TokenRequestOptions = TokenRequestOptions()) async throws -> TokenSourceResponse {
        try await fetch(options: options)
    }

    /// Fresh credentials for `options`, bypassing the cache and then updating it.
    ///
    /// Throws `TokenSourceError`.
    public func refetch(_ options: TokenRequestOptions = TokenRequestOptions()) async throws -> TokenSourceResponse {
        try await refetch(options: options)
    }

    /// The cache's events from now on, as a stream.
    ///
    /// Every access starts a new observation. It ends when the iteration ends (a `break`, the
    /// iterating task cancelled) or the stream is released; ending it cancels the underlying
    /// `TaskHandle`. A source without a cache emits nothing. Events are buffered without limit
    /// until they are read.
    ///
    /// ```swift
    /// for await event in source.cacheEvents {
    ///     if case .miss(let reason) = event { log.debug("token cache miss: \(String(describing: reason))") }
    /// }
    /// ```
    public var cacheEvents: AsyncStream<CacheEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: CacheEvent.self)
        let handle = observeCache(observer: CacheEventForwarder(continuation))
        continuation.onTermination = { _ in handle.cancel() }
        return stream
    }

    /// Calls `onEvent` for every cache event, on a Rust thread, until the returned handle is
    /// cancelled or released. Keep `onEvent` quick: it runs inside the cache's bookkeeping.
    public func observeCache(_ onEvent: @escaping @Sendable (CacheEvent) -> Void) -> TaskHandle {
        observeCache(observer: ClosureCacheObserver(onEvent))
    }
}

extension TokenSourceResponse {
    /// Credentials from a server URL and a participant token, spelled as in LiveKit's Swift SDK
    /// (`serverURL:`); the same as the generated `init(serverUrl:participantToken:…)`.
    ///
    /// `TokenSourceResponse` is a class without a textual description: printing it, interpolating
    /// it or dumping it never shows the token. Read the token with `participantToken()`.
    public convenience init(
        serverURL: String,
        participantToken: String,
        participantName: String? = nil,
        roomName: String? = nil
    ) {
        self.init(
            serverUrl: serverURL,
            participantToken: participantToken,
            participantName: participantName,
            roomName: roomName
        )
    }
}
