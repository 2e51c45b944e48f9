import Foundation

// What people read. The generated error enums (`TokenSourceError`, `SessionError`,
// `CallbackError`) already conform to `LocalizedError`, and scripts/generate-bindings makes their
// `errorDescription` (hence `localizedDescription`, what the seed's SwiftUI alert shows) the Rust
// message: one sentence saying what failed, the detail once and what to do, for example
// "The token server answered HTTP 401 (no); check the app's credentials for the token server."
// (see bindings/scripts/readable_errors.py). Their `description` is the same sentence; these
// conformances let `String(describing:)` and string interpolation use it too.

extension SessionError: CustomStringConvertible {}
extension TokenSourceError: CustomStringConvertible {}
extension CallbackError: CustomStringConvertible {}
