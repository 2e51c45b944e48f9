import Foundation
import Network
import SessionCore
import XCTest

/// The server URL the tests' credentials name (never dialled: scripted sessions ignore it).
let testServerURL = "wss://example.livekit.cloud"

/// How long any single wait in a test may take before the test fails (never a fixed sleep).
let waitLimit: TimeInterval = 10

/// Options with every field set, to prove they all cross the FFI both ways.
let fullOptions = TokenRequestOptions(
    roomName: "room",
    participantName: "Alice",
    participantIdentity: "alice",
    participantMetadata: "meta",
    participantAttributes: ["k": "v", "k2": "v2"],
    agentName: "agent",
    agentMetadata: "agent meta",
    agentDeployment: "prod"
)

/// Unsigned JWTs with chosen claims: `header.payload.signature`, each part base64url. The Rust
/// library decodes claims (expiry, agent dispatch) without verifying signatures.
enum Jwt {
    /// Now, in seconds since the Unix epoch.
    static var now: Int {
        Int(Date().timeIntervalSince1970)
    }

    /// A token whose payload is `payload`.
    static func token(_ payload: [String: Any]) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "HS256", "typ": "JWT"], options: [.sortedKeys])
        let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
        return [header, body, Data("not-a-real-signature".utf8)].map(base64URL).joined(separator: ".")
    }

    /// A token for `identity` that expires in `seconds` (cacheable with the 60 s margin when
    /// more than 60).
    static func expiring(in seconds: Int, identity: String = "alice", extra: [String: Any] = [:]) throws -> String {
        var payload: [String: Any] = ["sub": identity, "exp": now + seconds]
        payload.merge(extra) { _, new in new }
        return try token(payload)
    }

    /// A token that asks LiveKit to dispatch `agentName` (`roomConfig.agents`), so the agent
    /// timeout applies.
    static func dispatching(_ agentName: String, identity: String = "alice") throws -> String {
        try expiring(in: 3600, identity: identity, extra: ["roomConfig": ["agents": [["agentName": agentName]]]])
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// A thread-safe list, filled from Rust threads and read by the test.
final class Recorder<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Element] = []

    /// Appends `element`; returns how many elements there are now.
    @discardableResult
    func append(_ element: Element) -> Int {
        lock.lock()
        defer { lock.unlock() }
        storage.append(element)
        return storage.count
    }

    var elements: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }

    var count: Int {
        elements.count
    }
}

/// A custom source that counts its calls and answers with a fresh cacheable token each time
/// (dispatching `agentName` when given).
final class CountingSource {
    let options: Recorder<TokenRequestOptions>
    let source: TokenSource

    init(validFor seconds: Int = 3600, agentName: String? = nil) {
        let options = Recorder<TokenRequestOptions>()
        self.options = options
        source = TokenSource.custom { requested in
            let identity = "call-\(options.append(requested))"
            let token: String
            if let agentName {
                token = try Jwt.dispatching(agentName, identity: identity)
            } else {
                token = try Jwt.expiring(in: seconds, identity: identity)
            }
            return TokenSourceResponse(serverURL: testServerURL, participantToken: token)
        }
    }

    var calls: Int {
        options.count
    }
}

struct WaitTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Waits on the main actor until `condition` holds, failing after `waitLimit`. Polls every 10 ms,
/// which lets the session's main-actor event loop run in between.
@MainActor
func waitUntil(
    _ what: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    _ condition: () -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(waitLimit)
    while !condition() {
        guard Date() < deadline else {
            XCTFail("timed out waiting for \(what)", file: file, line: line)
            throw WaitTimeout(what: what)
        }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
}

/// The error `body` throws, or `nil`.
func thrownError<T>(_ body: () async throws -> T) async -> Error? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// Collects the elements of `stream` in the background until the returned task is cancelled.
/// (Not `record`: inside a test case that is XCTestCase's `record(_:)`.)
func collect<Element>(_ stream: AsyncStream<Element>, into recorder: Recorder<Element>) -> Task<Void, Never> {
    Task.detached {
        for await element in stream {
            recorder.append(element)
        }
    }
}

// MARK: - A token endpoint

/// A request the test server received.
struct RecordedRequest: Sendable {
    let method: String
    let path: String
    /// Lower-case header names.
    let headers: [String: String]
    let body: Data

    /// The body as a JSON object.
    func json() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: body) as? [String: Any])
    }
}

/// A reply of the test server.
struct Reply: Sendable {
    var status: Int
    var body: String
}

/// A real HTTP/1.1 server on 127.0.0.1 (Network.framework) that records every request and answers
/// with `respond`; one request per connection (`Connection: close`).
final class TestHttpServer: @unchecked Sendable {
    private let listener: NWListener
    private let queue = DispatchQueue(label: "SessionCoreTests.TestHttpServer")
    private let respond: @Sendable (RecordedRequest) -> Reply
    let requests = Recorder<RecordedRequest>()

    init(respond: @escaping @Sendable (RecordedRequest) -> Reply) throws {
        let parameters = NWParameters.tcp
        parameters.requiredLocalEndpoint = .hostPort(host: .ipv4(.loopback), port: .any)
        listener = try NWListener(using: parameters)
        self.respond = respond
    }

    /// Starts listening; returns the base URL (`http://127.0.0.1:<port>`).
    func listen() async throws -> String {
        let listener = self.listener
        let queue = self.queue
        listener.newConnectionHandler = { [weak self] connection in
            self?.serve(connection)
        }
        let once = Once()
        let port: UInt16 = try await withCheckedThrowingContinuation { continuation in
            listener.stateUpdateHandler = { [weak listener] state in
                switch state {
                case .ready:
                    if let port = listener?.port, once.claim() {
                        continuation.resume(returning: port.rawValue)
                    }
                case let .failed(error):
                    if once.claim() { continuation.resume(throwing: error) }
                case .cancelled:
                    if once.claim() { continuation.resume(throwing: CancellationError()) }
                default:
                    break
                }
            }
            listener.start(queue: queue)
        }
        return "http://127.0.0.1:\(port)"
    }

    func close() {
        listener.cancel()
    }

    private func serve(_ connection: NWConnection) {
        connection.start(queue: queue)
        receive(on: connection, buffer: Data())
    }

    private func receive(on connection: NWConnection, buffer: Data) {
        connection.receive(minimumIncompleteLength: 1, maximumLength: 65_536) { [weak self] data, _, isComplete, error in
            guard let self else {
                connection.cancel()
                return
            }
            var received = buffer
            if let data {
                received.append(data)
            }
            if let request = TestHttpServer.parse(received) {
                self.requests.append(request)
                self.reply(self.respond(request), on: connection)
            } else if isComplete || error != nil {
                connection.cancel()
            } else {
                self.receive(on: connection, buffer: received)
            }
        }
    }

    private func reply(_ reply: Reply, on connection: NWConnection) {
        let body = Data(reply.body.utf8)
        let head = "HTTP/1.1 \(reply.status) \(reply.status < 400 ? "OK" : "Error")\r\n"
            + "Content-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n"
        connection.send(content: Data(head.utf8) + body, completion: .contentProcessed { _ in
            connection.cancel()
        })
    }

    /// A complete request in `data`, or `nil` while more bytes are needed.
    static func parse(_ data: Data) -> RecordedRequest? {
        guard let headerEnd = data.range(of: Data("\r\n\r\n".utf8)),
              let head = String(data: data[data.startIndex..<headerEnd.lowerBound], encoding: .utf8)
        else { return nil }
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = (lines.first ?? "").split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let body = data[headerEnd.upperBound...]
        guard body.count >= length else { return nil }
        return RecordedRequest(
            method: String(requestLine[0]),
            path: String(requestLine[1]),
            headers: headers,
            body: Data(body.prefix(length))
        )
    }
}

/// True exactly once, from any thread.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false

    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}
