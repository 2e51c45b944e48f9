import Foundation
import SessionCore
import XCTest

/// A room implemented in Swift, as an app forwarding LiveKit's Swift SDK would: it reports what
/// the room says as facts with LiveKit's protocol names and records what the session asks.
final class FakeRoom: ForeignRoom, @unchecked Sendable {
    private let lock = NSLock()
    private var sink: RoomFactSink?
    private(set) var connects: [String] = []
    private(set) var sent: [String] = []
    private(set) var disconnects = 0
    let failure: String?

    init(failure: String? = nil) {
        self.failure = failure
    }

    /// `NSLock.withLock` needs iOS 16 / macOS 13; the package supports iOS 15 / macOS 12.
    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func connect(url: String, token: String, sink: RoomFactSink) async throws -> RoomLink {
        locked { connects.append(url) }
        if let failure {
            throw RoomError.Failed(reason: failure)
        }
        locked { self.sink = sink }
        let agent = ParticipantFact(
            identity: "agent-1",
            name: "Swift Agent",
            kind: "AGENT",
            attributes: ["lk.agent.state": "initializing"],
            tracks: [TrackFact(sid: "TR_agent_mic", source: "MICROPHONE", kind: "AUDIO", subscribed: true)]
        )
        _ = sink.push(fact: .connected(localIdentity: "user", roomName: "swift-room", participants: [agent]))
        return RoomLink(link: FakeRoomLink(room: self))
    }

    @discardableResult
    func push(_ fact: RoomFact) -> Bool {
        locked { sink }?.push(fact: fact) ?? false
    }

    func stream(topic: String, id: String, chunks: [String], attributes: [String: String]) {
        push(.streamOpened(streamId: id, topic: topic, senderIdentity: "agent-1", participantIdentity: "agent-1", attributes: attributes))
        for chunk in chunks {
            push(.streamChunk(streamId: id, text: chunk))
        }
        var closing = attributes
        if topic == "lk.transcription" {
            closing["lk.transcription_final"] = "true"
        }
        push(.streamClosed(streamId: id, attributes: closing, error: nil))
    }

    func recordSent(_ text: String) -> Int {
        locked {
            sent.append(text)
            return sent.count
        }
    }

    func recordDisconnect() {
        locked { disconnects += 1 }
    }
}

final class FakeRoomLink: ForeignRoomLink, @unchecked Sendable {
    let room: FakeRoom

    init(room: FakeRoom) {
        self.room = room
    }

    func sendText(topic: String, text: String) async throws -> String {
        "chat-\(room.recordSent(text))"
    }

    func setMicrophoneEnabled(enabled: Bool) async throws {}

    func disconnect() async throws {
        room.recordDisconnect()
    }
}

final class ForeignRoomTests: XCTestCase {
    @MainActor
    func testASessionRunsEndToEndThroughASwiftRoom() async throws {
        let room = FakeRoom()
        let session = Session.withRoom(
            tokenSource: TokenSource.literal(serverUrl: "wss://swift-room.invalid", participantToken: "swift-room-token"),
            room: room
        )
        try await session.startThrowing()
        XCTAssertEqual(room.connects, ["wss://swift-room.invalid"])
        XCTAssertEqual(session.roomName, "swift-room")
        try await waitUntil("the agent") { session.agent.identity == "agent-1" }

        room.push(.attributesChanged(identity: "agent-1", changed: ["lk.agent.state": "listening"], attributes: ["lk.agent.state": "listening"]))
        try await waitUntil("agent listening") { session.agent.agentState == .listening }

        room.stream(topic: "lk.transcription", id: "TS_1", chunks: ["Hello", " from", " Swift"], attributes: ["lk.segment_id": "SG_1"])
        try await waitUntil("the final transcript") { session.messages.first?.isFinal == true }
        XCTAssertEqual(session.messages.first?.text, "Hello from Swift")

        let sent = try await session.send("Ping")
        XCTAssertEqual(sent.id, "chat-1")
        try await waitUntil("the sent message") { session.messages.count == 2 }
        room.stream(topic: "lk.chat", id: "CH_echo", chunks: ["Pong"], attributes: [:])
        try await waitUntil("the echo") { session.messages.count == 3 && session.messages[2].isFinal }
        XCTAssertEqual(session.messages.map(\.text), ["Hello from Swift", "Ping", "Pong"])
        XCTAssertEqual(session.messages, session.agentSession.messages())

        await session.end()
        try await waitUntil("disconnected") { session.connectionState == .disconnected }
        XCTAssertEqual(room.disconnects, 1)
        XCTAssertEqual(session.disconnectReason, .clientInitiated)
        XCTAssertFalse(room.push(.reconnecting), "the sink is closed after end")
    }

    @MainActor
    func testTheRoomsConnectErrorIsAConnectionError() async throws {
        let session = Session.withRoom(
            tokenSource: TokenSource.literal(serverUrl: "wss://swift-room.invalid", participantToken: "swift-room-token"),
            room: FakeRoom(failure: "no route to swift-room")
        )
        guard case let .Connection(reason, _)? = await thrownError({ try await session.startThrowing() }) as? SessionError else {
            return XCTFail("a connection error")
        }
        XCTAssertTrue(reason.contains("no route to swift-room"), reason)
    }
}
