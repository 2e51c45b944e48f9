import Foundation
import SessionCore
import XCTest

/// The seed's shape: a struct conforming to `TokenSourceConfigurable` with `fetch(_:)`.
struct SeedTokenSource: TokenSourceConfigurable {
    let calls: Recorder<TokenRequestOptions>
    var serverURL = testServerURL

    func fetch(_ options: TokenRequestOptions) async throws -> TokenSourceResponse {
        calls.append(options)
        if options.roomName == "forbidden" {
            throw TokenSourceError.Http(status: 403, reason: "no")
        }
        let participantToken = try Jwt.expiring(in: 3600, identity: options.participantIdentity ?? "anonymous")
        return TokenSourceResponse(serverURL: serverURL, participantToken: participantToken, roomName: options.roomName)
    }
}

/// A class implementing the generated (class-bound) protocol directly, with `fetch(options:)`.
final class GeneratedProtocolSource: SessionCoreBindings.TokenSourceConfigurable {
    struct SocketClosed: Error {}

    let calls = Recorder<TokenRequestOptions>()

    func fetch(options: TokenRequestOptions) async throws -> TokenSourceResponse {
        calls.append(options)
        if options.roomName == "broken" {
            throw SocketClosed()
        }
        return TokenSourceResponse(serverUrl: testServerURL, participantToken: try Jwt.expiring(in: 3600), roomName: options.roomName)
    }
}

/// An app error with a user-facing description.
struct BackendUnavailable: LocalizedError {
    var errorDescription: String? { "the token backend is unavailable" }
}

final class TokenSourceTests: XCTestCase {
    func testLiteralSourceAnswersWithItsCredentialsAndDoesNotCache() async throws {
        let token = try Jwt.expiring(in: 3600)
        let source = TokenSource.literal(serverUrl: testServerURL, participantToken: token)
        let response = try await source.fetch()
        XCTAssertEqual(response.serverUrl(), testServerURL)
        XCTAssertEqual(response.participantToken(), token)
        XCTAssertNil(response.participantName())
        XCTAssertNil(response.roomName())
        XCTAssertFalse(source.isCached())
        XCTAssertNil(source.cachedResponse())
        // The options are ignored by a literal source.
        let withOptions = try await source.fetch(fullOptions)
        XCTAssertEqual(withOptions.participantToken(), token)
    }

    func testCustomClosureIsCalledWithTheExactOptions() async throws {
        let seen = Recorder<TokenRequestOptions>()
        let source = TokenSource.custom { options in
            seen.append(options)
            return TokenSourceResponse(
                serverURL: testServerURL,
                participantToken: "token-for-\(options.roomName ?? "none")",
                participantName: options.participantName,
                roomName: options.roomName
            )
        }
        XCTAssertTrue(source.isCached())
        let response = try await source.fetch(fullOptions)
        XCTAssertEqual(seen.elements, [fullOptions])
        XCTAssertEqual(response.participantToken(), "token-for-room")
        XCTAssertEqual(response.participantName(), "Alice")
        XCTAssertEqual(response.roomName(), "room")
        // Defaults cross too (all nil, empty attributes).
        _ = try await source.fetch()
        XCTAssertEqual(seen.elements.last, TokenRequestOptions())
    }

    func testTypedErrorsFromTheClosurePassThroughUnchanged() async throws {
        let http = TokenSource.custom { _ in throw TokenSourceError.Http(status: 503, reason: "maintenance") }
        let httpError = await thrownError { try await http.fetch() }
        XCTAssertEqual(httpError as? TokenSourceError, .Http(status: 503, reason: "maintenance"))

        let network = TokenSource.custom { _ in throw TokenSourceError.Network(reason: "offline") }
        let networkError = await thrownError { try await network.fetch(fullOptions) }
        XCTAssertEqual(networkError as? TokenSourceError, .Network(reason: "offline"))
    }

    func testOtherErrorsBecomeCustomWithTheirLocalizedDescription() async throws {
        let localized = TokenSource.custom { _ in throw BackendUnavailable() }
        let localizedError = await thrownError { try await localized.fetch() }
        XCTAssertEqual(localizedError as? TokenSourceError, .Custom(reason: "the token backend is unavailable"))

        let urlError = URLError(.notConnectedToInternet)
        let offline = TokenSource.custom { _ in throw urlError }
        let offlineError = await thrownError { try await offline.fetch() }
        XCTAssertEqual(offlineError as? TokenSourceError, .Custom(reason: urlError.localizedDescription))

        // Cancellation inside the source fails the fetch instead of hanging it.
        let cancelled = TokenSource.custom { _ in throw CancellationError() }
        guard case .Custom? = await thrownError({ try await cancelled.fetch() }) as? TokenSourceError else {
            return XCTFail("a CancellationError becomes .Custom")
        }
    }

    func testTheSeedsStructShapeIsATokenSource() async throws {
        let calls = Recorder<TokenRequestOptions>()
        let source = TokenSource.custom(SeedTokenSource(calls: calls))
        let options = TokenRequestOptions(roomName: "ok", participantIdentity: "bob")
        let first = try await source.fetch(options)
        let second = try await source.fetch(options)
        XCTAssertEqual(first.roomName(), "ok")
        XCTAssertEqual(first.claims()?.identity, "bob")
        XCTAssertEqual(second.participantToken(), first.participantToken(), "served from the cache")
        XCTAssertEqual(calls.count, 1)

        let forbidden = await thrownError { try await source.fetch(TokenRequestOptions(roomName: "forbidden")) }
        XCTAssertEqual(forbidden as? TokenSourceError, .Http(status: 403, reason: "no"))
    }

    func testImplementingTheGeneratedProtocol() async throws {
        let mine = GeneratedProtocolSource()
        let source = TokenSource.custom(source: mine)
        let response = try await source.fetch(options: TokenRequestOptions(roomName: "ok"))
        XCTAssertEqual(response.roomName(), "ok")
        _ = try await source.fetch(options: TokenRequestOptions(roomName: "ok"))
        XCTAssertEqual(mine.calls.count, 1, "cached")

        // uniffi itself turns an untyped error into `.Custom` with the error's description.
        let broken = await thrownError { try await source.fetch(options: TokenRequestOptions(roomName: "broken")) }
        guard case let .Custom(reason)? = broken as? TokenSourceError else {
            return XCTFail("expected .Custom, got \(String(describing: broken))")
        }
        XCTAssertTrue(reason.contains("SocketClosed"), reason)
    }

    func testASecondFetchIsServedFromTheCacheWithoutCallingTheClosure() async throws {
        let counting = CountingSource()
        let first = try await counting.source.fetch(fullOptions)
        let second = try await counting.source.fetch(fullOptions)
        XCTAssertEqual(counting.calls, 1)
        XCTAssertEqual(second.participantToken(), first.participantToken())
        XCTAssertEqual(counting.source.cachedResponse()?.participantToken(), first.participantToken())
        XCTAssertEqual(counting.options.elements, [fullOptions])
    }

    func testRefetchBypassesAndUpdatesTheCache() async throws {
        let counting = CountingSource()
        let first = try await counting.source.fetch().participantToken()
        let fresh = try await counting.source.refetch().participantToken()
        XCTAssertEqual(counting.calls, 2)
        XCTAssertNotEqual(first, fresh)
        let again = try await counting.source.fetch().participantToken()
        XCTAssertEqual(again, fresh)
        XCTAssertEqual(counting.calls, 2)
        XCTAssertEqual(counting.source.cachedResponse()?.participantToken(), fresh)
    }

    func testInvalidateClearsTheCache() async throws {
        let counting = CountingSource()
        _ = try await counting.source.fetch()
        XCTAssertNotNil(counting.source.cachedResponse())
        counting.source.invalidate()
        XCTAssertNil(counting.source.cachedResponse())
        _ = try await counting.source.fetch()
        XCTAssertEqual(counting.calls, 2)
    }

    func testDifferentOptionsMissAndTheDefaultCacheKeepsOneEntry() async throws {
        let counting = CountingSource()
        let a = TokenRequestOptions(roomName: "a")
        let b = TokenRequestOptions(roomName: "b")
        _ = try await counting.source.fetch(a)
        _ = try await counting.source.fetch(b)
        _ = try await counting.source.fetch(a)
        XCTAssertEqual(counting.calls, 3, "capacity 1: b evicted a")
        XCTAssertEqual(counting.options.elements, [a, b, a])
    }

    func testTokensWithoutExpiryAreNeverCached() async throws {
        let calls = Recorder<TokenRequestOptions>()
        let source = TokenSource.custom { options in
            calls.append(options)
            return TokenSourceResponse(serverURL: testServerURL, participantToken: "opaque-token")
        }
        _ = try await source.fetch()
        _ = try await source.fetch()
        XCTAssertEqual(calls.count, 2)
    }

    func testWithCacheAndWithoutCacheMakeNewSources() async throws {
        let counting = CountingSource()
        let uncached = counting.source.withoutCache()
        XCTAssertFalse(uncached.isCached())
        _ = try await uncached.fetch()
        _ = try await uncached.fetch()
        XCTAssertEqual(counting.calls, 2)
        XCTAssertNil(uncached.cachedResponse())
        uncached.invalidate() // a no-op without a cache

        let twoEntries = counting.source.withCache(capacity: 2)
        XCTAssertTrue(twoEntries.isCached())
        let a = TokenRequestOptions(roomName: "a")
        let b = TokenRequestOptions(roomName: "b")
        for options in [a, b, a, b] {
            _ = try await twoEntries.fetch(options)
        }
        XCTAssertEqual(counting.calls, 4, "capacity 2 keeps both")

        // A literal source can be cached too: a JWT with `exp` is then served from the cache.
        let cachedLiteral = TokenSource.literal(serverUrl: testServerURL, participantToken: try Jwt.expiring(in: 3600)).withCache()
        XCTAssertTrue(cachedLiteral.isCached())
        XCTAssertNil(cachedLiteral.cachedResponse())
        _ = try await cachedLiteral.fetch()
        XCTAssertNotNil(cachedLiteral.cachedResponse())
        XCTAssertFalse(cachedLiteral.withoutCache().isCached())
    }

    func testResponseAccessorsAndClaims() throws {
        let exp = Jwt.now + 3600
        let token = try Jwt.token([
            "sub": "alice",
            "name": "Alice",
            "metadata": "m",
            "exp": exp,
            "video": ["room": "room-1", "roomJoin": true],
            "roomConfig": ["agents": [["agentName": "agent-a"], ["agentName": "agent-b"]]],
        ])
        let response = TokenSourceResponse(serverURL: testServerURL, participantToken: token, participantName: "Alice", roomName: "room-1")
        XCTAssertEqual(response.serverUrl(), testServerURL)
        XCTAssertEqual(response.participantToken(), token)
        XCTAssertEqual(response.participantName(), "Alice")
        XCTAssertEqual(response.roomName(), "room-1")
        XCTAssertTrue(response.dispatchesAgent())
        XCTAssertEqual(
            response.claims(),
            TokenClaims(
                identity: "alice",
                name: "Alice",
                metadata: "m",
                room: "room-1",
                expiresAt: Int64(exp),
                agentNames: ["agent-a", "agent-b"]
            )
        )

        let noAgent = TokenSourceResponse(serverURL: testServerURL, participantToken: try Jwt.expiring(in: 60))
        XCTAssertFalse(noAgent.dispatchesAgent())
        XCTAssertEqual(noAgent.claims()?.agentNames, [])
        XCTAssertNil(noAgent.claims()?.room)

        let opaque = TokenSourceResponse(serverURL: testServerURL, participantToken: "opaque-token")
        XCTAssertNil(opaque.claims())
        XCTAssertFalse(opaque.dispatchesAgent())
    }

    func testTokensNeverAppearInDescriptions() async throws {
        let token = try Jwt.expiring(in: 3600)
        let response = TokenSourceResponse(serverURL: testServerURL, participantToken: token)
        let source = TokenSource.literal(serverUrl: testServerURL, participantToken: token)
        let fetched = try await source.fetch()
        for value in [response, fetched] as [Any] {
            var dumped = ""
            dump(value, to: &dumped)
            for text in [String(describing: value), String(reflecting: value), "\(value)", dumped] {
                XCTAssertFalse(text.contains(token), text)
            }
        }
        XCTAssertFalse(String(describing: source).contains(token))
    }

    @MainActor
    func testCacheEventsArriveAsAStream() async throws {
        let counting = CountingSource()
        let events = Recorder<CacheEvent>()
        let reading = collect(counting.source.cacheEvents, into: events)
        defer { reading.cancel() }

        _ = try await counting.source.fetch()
        _ = try await counting.source.fetch()
        counting.source.invalidate()
        try await waitUntil("four cache events") { events.count >= 4 }
        XCTAssertEqual(events.elements, [.miss(reason: .notCached), .stored(refresh: false), .hit, .invalidated])
    }

    func testAFailedFetchIsACacheEvent() async throws {
        let source = TokenSource.custom { _ in throw TokenSourceError.Network(reason: "offline") }
        let events = Recorder<CacheEvent>()
        let handle = source.observeCache { events.append($0) }
        defer { handle.cancel() }
        _ = await thrownError { try await source.fetch() }
        // Observers are called synchronously inside the fetch, so the events are already here.
        XCTAssertEqual(events.elements, [.miss(reason: .notCached), .failed(error: .Network(reason: "offline"), refresh: false)])
    }

    func testCancellingAnObserverStopsItsEvents() async throws {
        let counting = CountingSource()
        let events = Recorder<CacheEvent>()
        let handle = counting.source.observeCache { events.append($0) }
        _ = try await counting.source.fetch()
        XCTAssertEqual(events.count, 2)
        XCTAssertFalse(handle.isCancelled())
        handle.cancel()
        handle.cancel() // idempotent
        XCTAssertTrue(handle.isCancelled())
        _ = try await counting.source.fetch()
        counting.source.invalidate()
        XCTAssertEqual(events.count, 2, "no events after cancel")
    }

    func testEndpointSourcePostsTheOptionsAndCachesTheAnswer() async throws {
        let token = try Jwt.expiring(in: 3600)
        let server = try TestHttpServer { _ in
            Reply(status: 200, body: #"{"server_url":"\#(testServerURL)","participant_token":"\#(token)","room_name":"room-1"}"#)
        }
        let baseURL = try await server.listen()
        defer { server.close() }

        let source = try TokenSource.endpoint(url: baseURL + "/token", headers: ["Authorization": "Bearer app-secret"])
        let options = TokenRequestOptions(roomName: "room-1", participantName: "Alice", agentName: "agent-a")
        let response = try await source.fetch(options)
        XCTAssertEqual(response.serverUrl(), testServerURL)
        XCTAssertEqual(response.participantToken(), token)
        XCTAssertEqual(response.roomName(), "room-1")
        _ = try await source.fetch(options)
        XCTAssertEqual(server.requests.count, 1, "the second fetch is a cache hit")

        let request = try XCTUnwrap(server.requests.elements.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/token")
        XCTAssertEqual(request.headers["authorization"], "Bearer app-secret")
        XCTAssertEqual(request.headers["content-type"], "application/json")
        let body = try request.json()
        XCTAssertEqual(body["room_name"] as? String, "room-1")
        XCTAssertEqual(body["participant_name"] as? String, "Alice")
        let roomConfig = try XCTUnwrap(body["room_config"] as? [String: Any])
        let agents = try XCTUnwrap(roomConfig["agents"] as? [[String: Any]])
        XCTAssertEqual(agents.first?["agent_name"] as? String, "agent-a")
    }

    func testEndpointErrorsAreTyped() async throws {
        let server = try TestHttpServer { request in
            request.path == "/denied"
                ? Reply(status: 401, body: #"{"error":"bad app key"}"#)
                : Reply(status: 200, body: #"{"unexpected":true}"#)
        }
        let baseURL = try await server.listen()
        defer { server.close() }

        let denied = try TokenSource.endpoint(url: baseURL + "/denied")
        guard case let .Http(status, _)? = await thrownError({ try await denied.fetch() }) as? TokenSourceError else {
            return XCTFail("a 401 is .Http")
        }
        XCTAssertEqual(status, 401)

        let invalid = try TokenSource.endpoint(url: baseURL + "/token")
        guard case .InvalidResponse? = await thrownError({ try await invalid.fetch() }) as? TokenSourceError else {
            return XCTFail("a body without credentials is .InvalidResponse")
        }

        // Nothing listens on port 1.
        let unreachable = try TokenSource.endpoint(url: "http://127.0.0.1:1/token", timeoutMs: 2000)
        guard case .Network? = await thrownError({ try await unreachable.fetch() }) as? TokenSourceError else {
            return XCTFail("an unreachable endpoint is .Network")
        }

        let badMethod = await thrownError { try TokenSource.endpoint(url: baseURL, method: "BAD METHOD") }
        guard case .Configuration? = badMethod as? TokenSourceError else {
            return XCTFail("an invalid method is .Configuration")
        }

        let badURL = try TokenSource.endpoint(url: "ftp://example.com/token")
        guard case .Configuration? = await thrownError({ try await badURL.fetch() }) as? TokenSourceError else {
            return XCTFail("a non-HTTP URL is .Configuration")
        }
    }
}
