import Foundation
import SessionCore
import XCTest

/// A short name for an event, for comparing sequences (as the Rust integration tests do).
/// (Not `name`: inside a test case that is XCTestCase's `name` property.)
func eventName(_ event: SessionEvent) -> String {
    switch event {
    case let .connectionStateChanged(state):
        return "state:\(state)"
    case let .agentChanged(agent):
        return "agent:\(agent.state)"
    case let .errorChanged(error):
        return error.map { "error:\($0)" } ?? "error:none"
    case let .disconnected(reason):
        return "disconnected:\(reason)"
    case let .messageInserted(index, message):
        return "inserted:\(index):\(message.text)"
    case let .messageReplaced(index, message):
        return "replaced:\(index):\(message.text)\(message.isFinal ? ":final" : "")"
    case let .messagesReset(messages):
        return "reset:\(messages.count)"
    case let .trackInserted(index, track):
        return "track-inserted:\(index):\(track.sid)"
    case let .trackReplaced(index, track):
        return "track-replaced:\(index):\(track.sid)\(track.muted ? ":muted" : "")"
    case let .trackRemoved(index):
        return "track-removed:\(index)"
    case let .tracksReset(tracks):
        return "tracks-reset:\(tracks.count)"
    }
}

final class SessionTests: XCTestCase {
    @MainActor
    func testAWholeScriptedSessionStartListenTranscriptSendEnd() async throws {
        let script = Script()
            .withWordIntervalMs(intervalMs: 5)
            .agentJoins(identity: "agent-1", name: "Assistant")
            .agentState(state: "listening")
            .agentTurn(text: "Hello! How can I help?")
            .userSays(text: "I need help")
            .onChat { text in Script().agentTurn(text: "You said \(text)") }
        let counting = CountingSource()
        let session = Session.scripted(script, tokenSource: counting.source, options: TokenRequestOptions(roomName: "room"))

        XCTAssertEqual(session.connectionState, .disconnected)
        XCTAssertFalse(session.isConnected)
        XCTAssertEqual(session.agent.agentState, .disconnected)
        XCTAssertEqual(session.messages, [])
        XCTAssertNil(session.error)

        await session.start()
        XCTAssertNil(session.error)
        try await waitUntil("connected") { session.isConnected }
        XCTAssertEqual(counting.options.elements, [TokenRequestOptions(roomName: "room")])

        try await waitUntil("the agent listening") { session.agent.agentState == .listening }
        XCTAssertEqual(session.agent.identity, "agent-1")
        XCTAssertEqual(session.agent.name, "Assistant")
        XCTAssertTrue(session.agent.canListen)

        try await waitUntil("the user's final transcript") {
            session.messages.count == 2 && session.messages[1].isFinal
        }
        XCTAssertEqual(session.messages.map(\.kind), [.agentTranscript, .userTranscript])
        XCTAssertEqual(session.messages.map(\.text), ["Hello! How can I help?", "I need help"])
        XCTAssertEqual(session.messages.map(\.senderIdentity), ["agent-1", "user"])
        XCTAssertTrue(session.messages[0].isFinal)

        let sent = try await session.send("hi")
        XCTAssertEqual(sent.kind, .sentChat)
        XCTAssertEqual(sent.text, "hi")
        XCTAssertEqual(sent.senderIdentity, "user")
        try await waitUntil("the agent's reply") {
            session.messages.last?.text == "You said hi" && session.messages.last?.isFinal == true
        }
        XCTAssertEqual(session.messages.map(\.kind), [.agentTranscript, .userTranscript, .sentChat, .agentTranscript])
        XCTAssertEqual(session.messages[2], sent)
        // The copy kept by index from the events is the Rust session's list.
        XCTAssertEqual(session.messages, session.agentSession.messages())

        await session.end()
        try await waitUntil("disconnected") {
            session.connectionState == .disconnected && session.agent.agentState == .disconnected
        }
        XCTAssertFalse(session.isConnected)
        XCTAssertEqual(session.messages.count, 4, "messages are kept")
        XCTAssertNil(session.error)
        XCTAssertEqual(counting.calls, 1)
    }

    @MainActor
    func testEventsStartWithTheCurrentStateAndFollowInOrder() async throws {
        let session = Session.scripted(Script().withAgentInRoom(identity: "agent", state: "listening"))
        let events = Recorder<SessionEvent>()
        let reading = collect(session.events, into: events)
        defer { reading.cancel() }

        try await waitUntil("the snapshot") { events.count >= 4 }
        XCTAssertEqual(events.elements.map(eventName), ["state:disconnected", "agent:disconnected", "error:none", "reset:0"])

        await session.start()
        try await waitUntil("the agent listening") { events.elements.map(eventName).contains("agent:listening") }
        XCTAssertEqual(
            events.elements.dropFirst(4).map(eventName),
            ["state:connecting", "agent:connecting", "state:connected", "agent:listening"]
        )
        await session.end()
    }

    @MainActor
    func testADispatchedAgentThatNeverComesTimesOut() async throws {
        let counting = CountingSource(agentName: "my-agent")
        let session = Session.scripted(
            Script(),
            tokenSource: counting.source,
            sessionOptions: SessionOptions(agentConnectTimeoutMs: 300)
        )
        await session.start()
        XCTAssertNil(session.error)
        try await waitUntil("the agent timeout") { session.agent.agentState == .failed }
        XCTAssertEqual(session.agent.failure, .timeout)
        XCTAssertTrue(session.agent.isFinished)
        XCTAssertFalse(session.agent.isPending)
        XCTAssertTrue(session.isConnected, "the session stays connected")
        await session.end()
    }

    @MainActor
    func testAnAgentInTimeIsNotFailed() async throws {
        let counting = CountingSource(agentName: "my-agent")
        let script = Script().waitMs(durationMs: 50).agentJoins(identity: "agent").agentState(state: "listening")
        let session = Session.scripted(script, tokenSource: counting.source, sessionOptions: SessionOptions(agentConnectTimeoutMs: 5000))
        await session.start()
        try await waitUntil("the agent listening") { session.agent.agentState == .listening }
        XCTAssertNil(session.agent.failure)
        XCTAssertTrue(session.agent.isConnected)
        await session.end()
    }

    @MainActor
    func testAFailedStartSetsTheErrorLikeTheSeed() async throws {
        let source = TokenSource.custom { _ in throw TokenSourceError.Network(reason: "offline") }
        let session = Session.scripted(Script(), tokenSource: source)

        await session.start()
        guard case let .Connection(_, tokenSource)? = session.error else {
            return XCTFail("expected a connection error, got \(String(describing: session.error))")
        }
        XCTAssertEqual(tokenSource, .Network(reason: "offline"))
        try await waitUntil("disconnected again") { session.connectionState == .disconnected }
        XCTAssertFalse(session.isConnected)

        session.dismissError()
        XCTAssertNil(session.error)
        XCTAssertNil(session.agentSession.error())

        // The throwing variant throws the same error; `error` follows Rust's events.
        let thrown = await thrownError { try await session.startThrowing() }
        guard case let .Connection(_, again)? = thrown as? SessionError else {
            return XCTFail("expected a connection error, got \(String(describing: thrown))")
        }
        XCTAssertEqual(again, .Network(reason: "offline"))
        try await waitUntil("the recorded error") { session.error != nil }
    }

    @MainActor
    func testStartingASessionThatIsNotDisconnectedIsRefusedWithoutAnError() async throws {
        let session = Session.scripted(Script().withAgentInRoom(identity: "agent"))
        await session.start()
        try await waitUntil("connected") { session.isConnected }

        let thrown = await thrownError { try await session.startThrowing() }
        XCTAssertEqual(thrown as? SessionError, .NotDisconnected)
        await session.start()
        XCTAssertNil(session.error, "Rust does not record a refused start as the session's error")
        await session.end()
    }

    @MainActor
    func testSendingIsRefusedForEmptyTextAndWhileDisconnected() async throws {
        let session = Session.scripted(Script())
        let empty = await thrownError { try await session.send("   ") }
        XCTAssertEqual(empty as? SessionError, .EmptyMessage)
        XCTAssertNil(session.error)

        let disconnected = await thrownError { try await session.send("hello") }
        guard case .Sender? = disconnected as? SessionError else {
            return XCTFail("expected a sender error, got \(String(describing: disconnected))")
        }
        try await waitUntil("the recorded sender error") {
            if case .Sender? = session.error { return true }
            return false
        }
        XCTAssertEqual(session.messages, [], "nothing was sent, nothing is shown")
    }

    @MainActor
    func testRestoringTheMessageHistory() async throws {
        let session = Session.scripted(Script())
        let older = ReceivedMessage(
            id: "m1", timestamp: Date(timeIntervalSince1970: 1_000), kind: .userTranscript,
            senderIdentity: "user", text: "first", isFinal: true
        )
        let newer = ReceivedMessage(
            id: "m2", timestamp: Date(timeIntervalSince1970: 2_000), kind: .agentTranscript,
            senderIdentity: "agent", text: "second", isFinal: true
        )
        session.restoreMessageHistory([newer, older])
        try await waitUntil("the restored messages (ordered by timestamp)") { session.messages == [older, newer] }
    }

    @MainActor
    func testTheSeedsShapeStartsASession() async throws {
        let calls = Recorder<TokenRequestOptions>()
        // Nothing listens on port 1: connecting fails fast in either flavour.
        let session = Session(
            tokenSource: SeedTokenSource(calls: calls, serverURL: "ws://127.0.0.1:1"),
            options: TokenRequestOptions(roomName: "seed-room", agentName: "seed-agent")
        )
        XCTAssertEqual(session.connectionState, .disconnected)
        // Without a script the session connects through LiveKit (release flavour) or cannot
        // connect at all (test flavour); either way the credentials were asked for first, and
        // the failure is reported in `error`, not thrown.
        await session.start()
        XCTAssertEqual(calls.elements, [TokenRequestOptions(roomName: "seed-room", agentName: "seed-agent")])
        guard case let .Connection(_, tokenSource)? = session.error else {
            return XCTFail("expected a connection error, got \(String(describing: session.error))")
        }
        XCTAssertNil(tokenSource, "the credentials were fine; connecting failed")
        XCTAssertFalse(session.isConnected)
    }

    @MainActor
    func testWithAgentAsksTheSourceToDispatchIt() async throws {
        let seen = Recorder<TokenRequestOptions>()
        // Nothing listens on port 1: connecting fails fast in either flavour.
        let source = TokenSource.custom { options in
            seen.append(options)
            return TokenSourceResponse(serverURL: "ws://127.0.0.1:1", participantToken: try Jwt.dispatching("my-agent"))
        }
        let session = Session.withAgent(tokenSource: source, agentName: "my-agent", agentMetadata: "{\"mode\":\"test\"}")
        let thrown = await thrownError { try await session.startThrowing() }
        XCTAssertEqual(seen.elements, [TokenRequestOptions(agentName: "my-agent", agentMetadata: "{\"mode\":\"test\"}")])
        guard case let .Connection(_, tokenSource)? = thrown as? SessionError else {
            return XCTFail("expected a connection error, got \(String(describing: thrown))")
        }
        XCTAssertNil(tokenSource, "the credentials were fine; connecting failed")
    }

    @MainActor
    func testListenerCallbacksArriveOnRustThreads() async throws {
        let agentSession = AgentSession.scripted(
            tokenSource: TokenSource.literal(serverUrl: testServerURL, participantToken: "t"),
            script: Script()
        )
        let onMainThread = Recorder<Bool>()
        let handle = agentSession.observe { _ in onMainThread.append(Thread.isMainThread) }
        defer { handle.cancel() }
        try await waitUntil("the snapshot") { onMainThread.count >= 4 }
        XCTAssertEqual(onMainThread.elements, [false, false, false, false])
    }

    @MainActor
    func testASessionIsReleasedWhenTheAppLetsGoOfIt() async throws {
        weak var released: Session?
        do {
            let session = Session.scripted(Script())
            released = session
            await session.start()
            try await waitUntil("connected") { session.isConnected }
            await session.end()
        }
        XCTAssertNil(released, "the main-actor event loop holds the session weakly")
    }

    func testConnectionStateIsConnectedMatchesRust() {
        let states: [ConnectionState] = [.disconnected, .connecting, .connected, .reconnecting, .disconnecting]
        XCTAssertEqual(states.filter { $0.isConnected() }, [.connected, .reconnecting])
    }

    func testErrorsDescribeThemselvesWithTheRustMessage() {
        XCTAssertEqual(
            SessionError.EmptyMessage.localizedDescription,
            "The message is empty; enter some text before sending it."
        )
        let http = TokenSourceError.Http(status: 401, reason: "no")
        XCTAssertEqual(
            http.localizedDescription,
            "The token server answered HTTP 401 (no); check the app's credentials for the token server."
        )
        XCTAssertEqual(String(describing: http), http.localizedDescription)
    }
}
