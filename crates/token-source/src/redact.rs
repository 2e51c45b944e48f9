//! Keeping secrets out of `Debug`, `Display`, errors and logs.
//!
//! Tokens, API secrets and sandbox IDs are long runs of base64/hex-like characters; ordinary
//! words are short. [`excerpt`] keeps the start of a response body for an error message and
//! replaces every run of 20 or more such characters with `[redacted]`. [`Secret`] formats as
//! `<redacted, N bytes>`.

use std::fmt;

/// How many characters of a body an error keeps.
pub const EXCERPT_CHARS: usize = 160;

/// Runs of at least this many token-like characters are redacted.
const MIN_SECRET_RUN: usize = 20;

const REDACTED: &str = "[redacted]";

/// The start of `body` for an error message: invalid UTF-8 replaced, whitespace collapsed,
/// token-like runs redacted, at most [`EXCERPT_CHARS`] characters (then `…`).
pub fn excerpt(body: &[u8]) -> String {
    // Look a little past the cut so a secret straddling it is still recognised as one run.
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4 + 64)]);
    let mut out = String::new();
    let mut run = String::new();
    let mut last_was_space = true;
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= MIN_SECRET_RUN {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if is_token_char(ch) {
            run.push(ch);
            last_was_space = false;
            continue;
        }
        flush(&mut run, &mut out);
        if ch.is_whitespace() || ch.is_control() {
            if !last_was_space {
                out.push(' ');
            }
            last_was_space = true;
        } else {
            out.push(ch);
            last_was_space = false;
        }
    }
    flush(&mut run, &mut out);
    let trimmed = out.trim();
    if trimmed.chars().count() <= EXCERPT_CHARS {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(EXCERPT_CHARS).collect();
    cut.push('…');
    cut
}

fn is_token_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | '+' | '/' | '=' | '~')
}

/// Formats a secret string without revealing it: `<redacted, 123 bytes>`.
#[derive(Clone, Copy)]
pub struct Secret<'a>(pub &'a str);

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0.len())
    }
}

impl fmt::Display for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

    #[test]
    fn redacts_jwts_and_long_ids_but_keeps_words() {
        let body =
            format!(r#"{{"error":"bad request","token":"{JWT}","id":"abcdef0123456789abcdef"}}"#);
        let text = excerpt(body.as_bytes());
        assert!(!text.contains("eyJ"), "{text}");
        assert!(!text.contains("abcdef0123456789"), "{text}");
        assert!(text.contains("bad request"), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 2, "{text}");
    }

    #[test]
    fn html_is_collapsed_and_truncated() {
        let body = format!("<html>\n  <body>{}</body></html>", "Bad Gateway ".repeat(40));
        let text = excerpt(body.as_bytes());
        assert!(text.starts_with("<html> <body>Bad Gateway"), "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn a_secret_straddling_the_cut_is_still_redacted() {
        let body = format!("{}{JWT}", "x ".repeat(EXCERPT_CHARS / 2 - 5));
        let text = excerpt(body.as_bytes());
        assert!(!text.contains("eyJhbGciOiJIUzI1NiJ9"), "{text}");
    }

    #[test]
    fn invalid_utf8_and_empty_bodies() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(&[0xff, 0xfe, b'o', b'k']), "\u{fffd}\u{fffd}ok");
    }

    /// Finding 1 of issue 12: short secrets are redacted by what they are, not by length.
    #[test]
    fn values_of_token_like_keys_are_redacted_at_any_length() {
        let cases = [
            r#"{"participant_token":"eyJFAKESECRET"}"#,
            r#"{"participantToken": "FAKESECRET"}"#,
            r#"{"error":"denied","token":"FAKESECRET"}"#,
            r#"{"access_token":"FAKESECRET","token_type":"bearer"}"#,
            r#"{"secret": "FAKE SECRET"}"#,
            r#"{"api_secret":"FAKESECRET"}"#,
            r#"{"sandbox_id":"FAKESECRET"}"#,
            r#"{\"token\":\"FAKESECRET\"}"#,
            "token=FAKESECRET",
            "error: bad request; token=FAKESECRET&room=lobby",
            "api_secret=FAKESECRET",
            "X-Sandbox-ID: FAKESECRET",
            "Authorization: Bearer FAKESECRET",
            "password=FAKESECRET",
            "<p>secret: FAKESECRET</p>",
        ];
        for body in cases {
            let text = excerpt(body.as_bytes());
            assert!(!text.contains("FAKE"), "{body} → {text}");
            assert!(text.contains(REDACTED), "{body} → {text}");
        }
    }

    #[test]
    fn anything_jwt_shaped_is_redacted_at_any_length() {
        for body in ["revoked: eyJhbGc", "bad eyJ0eXAi.eyJzdWIi.c2ln here", "t eyA.eyB.x"] {
            let text = excerpt(body.as_bytes());
            assert!(!text.contains("eyJ") && !text.contains("eyA"), "{body} → {text}");
        }
    }

    #[test]
    fn ordinary_words_keys_and_numbers_are_kept() {
        let body = r#"{"error":"room lobby is full","code":429,"retry_after":30,"host":"api.example.com"}"#;
        assert_eq!(excerpt(body.as_bytes()), body);
        assert_eq!(excerpt(b"token expired, fetch a new one"), "token expired, fetch a new one");
    }

    #[test]
    fn secret_formatting() {
        assert_eq!(format!("{:?}", Secret(JWT)), format!("<redacted, {} bytes>", JWT.len()));
        assert_eq!(Secret("abc").to_string(), "<redacted, 3 bytes>");
    }
}
