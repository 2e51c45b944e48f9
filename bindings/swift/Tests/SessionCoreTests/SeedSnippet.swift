// The seed's Swift snippet (LiveKit docs › Authentication › Tokens › Custom token generation,
// ../shared/reference/seed-custom-token-generation.md), written against SessionCore as the seed
// writes it against LiveKitComponents. What differs, none of it in the app's own logic:
//   - `import SessionCore` and `import SwiftUI` instead of `import LiveKitComponents`;
//   - no `@main` on `SessionApp`: a test target has no entry point of its own;
//   - `LIVEKIT_URL` has a value, and `customTokenGenerationFunction` is defined (at the end);
//   - `AsyncButton` is a test-only stand-in (a UI widget) with the initializer of
//     LiveKitComponents' `AsyncButton(action:label:)`;
//
// scripts/check-swift checks it by name and labels: every type and function it names exists,
// every call's labels match a declaration, `MyTokenSource` implements `TokenSourceConfigurable`
// through its extension. It is NOT compiled here (no Swift compiler on these machines): on a Mac,
// `swift test` compiles and runs it (bindings/swift/README.md).

import SessionCore
import SwiftUI
import XCTest

let LIVEKIT_URL = "wss://my-project.livekit.cloud"

public struct MyTokenSource: TokenSourceConfigurable {}

public extension MyTokenSource {
    func fetch(_ options: TokenRequestOptions) async throws -> TokenSourceResponse {
        // Run your custom token generation logic, using values in `options` as inputs
        // ie, something like:
        let participantToken = await customTokenGenerationFunction(options.roomName, options.participantName, options.agentName, /* etc */)

        return TokenSourceResponse(serverURL: LIVEKIT_URL, participantToken: participantToken)
    }
}

struct SessionApp: App {
    let session = Session(tokenSource: MyTokenSource())

    var body: some Scene {
        WindowGroup {
            ContentView()
                .environmentObject(session)
                .alert(session.error?.localizedDescription ?? "Error", isPresented: .constant(session.error != nil)) {
                    Button(action: session.dismissError) { Text("OK") }
                }
                .alert(session.agent.error?.localizedDescription ?? "Error", isPresented: .constant(session.agent.error != nil)) {
                    AsyncButton(action: session.end) { Text("OK") }
                }
        }
    }
}

struct ContentView: View {
    @EnvironmentObject var session: Session
    @State var message = ""

    var body: some View {
        if session.isConnected {
            AsyncButton(action: session.end) {
                Text("Disconnect")
            }

            Text(String(describing: session.agent.agentState))
        } else {
            AsyncButton(action: session.start) {
                Text("Connect")
            }
        }
    }
}

// ---- Not the seed's: what it assumes exists.

/// Test-only stand-in for LiveKitComponents' `AsyncButton` (a SwiftUI button running an async
/// action), with its initializer's labels, so the seed's views read as the seed writes them.
struct AsyncButton<Label: View>: View {
    private let action: () async throws -> Void
    private let label: Label

    init(action: @escaping () async throws -> Void, @ViewBuilder label: () -> Label) {
        self.action = action
        self.label = label()
    }

    var body: some View {
        Button {
            Task { try? await action() }
        } label: {
            label
        }
    }
}

/// The app's own token generation (here: an unsigned JWT for the participant, valid one hour).
func customTokenGenerationFunction(_ roomName: String?, _ participantName: String?, _ agentName: String?) async -> String {
    (try? Jwt.expiring(in: 3600, identity: participantName ?? "anonymous")) ?? "not-a-jwt"
}

@MainActor
final class SeedSnippetTests: XCTestCase {
    func testTheSeedsTokenSourceFetchesThroughTheCache() async throws {
        let tokenSource = TokenSource.custom(MyTokenSource())
        let response = try await tokenSource.fetch(TokenRequestOptions(roomName: "room name to join"))
        XCTAssertEqual(response.serverUrl(), LIVEKIT_URL)
        let again = try await tokenSource.fetch(TokenRequestOptions(roomName: "room name to join"))
        XCTAssertEqual(again.participantToken(), response.participantToken(), "the second fetch is a cache hit")
    }

    func testTheSeedsAppMakesADisconnectedSession() {
        let app = SessionApp()
        XCTAssertFalse(app.session.isConnected)
        XCTAssertNil(app.session.error)
        _ = ContentView()
    }
}
