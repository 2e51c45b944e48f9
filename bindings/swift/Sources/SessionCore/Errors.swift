import Foundation

// The generated error enums describe themselves with the Rust message (`description`, from the
// Rust `Display`). `LocalizedError` makes `localizedDescription` — what the seed's SwiftUI alert
// shows — that same message instead of Foundation's generic "The operation couldn't be
// completed".

extension SessionError: LocalizedError {
    /// The Rust message, for example "connection failed: the token endpoint answered HTTP 401".
    public var errorDescription: String? { description }
}

extension TokenSourceError: LocalizedError {
    /// The Rust message, for example "network error: …".
    public var errorDescription: String? { description }
}
