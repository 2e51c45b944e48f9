//! Keeping secrets out of `Debug`, `Display`, errors and logs.
//!
//! [`excerpt`] keeps the start of a response body for an error message and redacts secrets by
//! what they are, at any length:
//!
//! - the value of a token-like key, in JSON (`"participant_token": "…"`, also escaped as
//!   `\"token\":\"…\"`), in `key=value` pairs (`token=…&room=…`) and in `key: value` lines
//!   (`X-Sandbox-ID: …`, `Authorization: Bearer …`). A key is token-like when, lowercased
//!   without `-`, `_` and `.`, it contains `token`, `secret`, `passw`, `sandbox`, `authoriz`,
//!   `credential`, `cookie`, `jwt` or `signature`, or ends with `key`: `participant_token`,
//!   `access_token`, `api_secret`, `sandbox_id`, `X-Sandbox-ID`, `apiKey`…;
//! - anything JWT-shaped: a word starting with `eyJ` (the encoding of `{"`, how every JWT
//!   starts), or three dot-separated base64url parts whose first starts with `ey`;
//! - any run of 20 or more base64/hex-like characters (long IDs and keys).
//!
//! Each is replaced with `[redacted]`. [`Secret`] formats as `<redacted, N bytes>`.

use std::fmt;

/// How many characters of a body an error keeps.
pub const EXCERPT_CHARS: usize = 160;

/// Runs of at least this many token-like characters are redacted whatever they are.
const MIN_SECRET_RUN: usize = 20;

const REDACTED: &str = "[redacted]";

/// The start of `body` for an error message: invalid UTF-8 replaced, secrets redacted (see the
/// [module documentation](self)), whitespace collapsed, at most [`EXCERPT_CHARS`] characters
/// (then `…`).
pub fn excerpt(body: &[u8]) -> String {
    // Look a little past the cut so a secret straddling it is still recognised as one.
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4 + 64)]);
    let redacted = redact_secrets(&text);
    let mut out = String::with_capacity(redacted.len());
    let mut last_was_space = true;
    for ch in redacted.chars() {
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
    let trimmed = out.trim();
    if trimmed.chars().count() <= EXCERPT_CHARS {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(EXCERPT_CHARS).collect();
    cut.push('…');
    cut
}

/// `text` with every secret replaced by [`REDACTED`].
fn redact_secrets(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_word_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word_char(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push_str(if looks_secret(&word) { REDACTED } else { &word });
        if is_secret_key(&word)
            && let Some(value) = value_start(&chars, i)
        {
            out.extend(&chars[i..value]);
            i = redact_value(&chars, value, &mut out);
        }
    }
    out
}

/// Where the value of a key that ends at `i` starts: after the key's closing quote (if any), an
/// optional space, `:` or `=`, and optional spaces. `None` when no `:`/`=` follows.
fn value_start(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() && matches!(chars[i], '"' | '\'' | '\\') {
        i += 1;
    }
    while i < chars.len() && matches!(chars[i], ' ' | '\t') {
        i += 1;
    }
    if !matches!(chars.get(i), Some(':' | '=')) {
        return None;
    }
    i += 1;
    while i < chars.len() && matches!(chars[i], ' ' | '\t') {
        i += 1;
    }
    (i < chars.len()).then_some(i)
}

/// Writes the value starting at `i` as [`REDACTED`] (keeping its quotes) and returns where the
/// text after it starts.
fn redact_value(chars: &[char], i: usize, out: &mut String) -> usize {
    let end_of_run = |from: usize, stop: &dyn Fn(char) -> bool| {
        (from..chars.len()).find(|&j| stop(chars[j])).unwrap_or(chars.len())
    };
    match chars[i] {
        // An escaped quote (JSON inside a JSON string): up to the next escaped quote.
        '\\' if chars.get(i + 1) == Some(&'"') => {
            out.push_str("\\\"");
            let content = i + 2;
            let close = (content..chars.len())
                .find(|&j| chars[j] == '\\' && chars.get(j + 1) == Some(&'"'))
                .unwrap_or(chars.len());
            if close > content {
                out.push_str(REDACTED);
            }
            close
        }
        quote @ ('"' | '\'') => {
            out.push(quote);
            let content = i + 1;
            let mut close = content;
            while close < chars.len() && chars[close] != quote {
                close += if chars[close] == '\\' { 2 } else { 1 };
            }
            if close > content {
                out.push_str(REDACTED);
            }
            close.min(chars.len())
        }
        '{' | '[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < chars.len() {
                match chars[j] {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            out.push_str(REDACTED);
            (j + 1).min(chars.len())
        }
        _ => {
            let stop = |c: char| c.is_whitespace() || "&,;\"'<>)}]".contains(c);
            let end = end_of_run(i, &stop);
            out.push_str(REDACTED);
            let value: String = chars[i..end].iter().collect();
            let is_scheme = ["bearer", "basic", "token", "digest"]
                .iter()
                .any(|scheme| value.eq_ignore_ascii_case(scheme));
            // `Authorization: Bearer <credential>`: the credential goes too.
            let spaces = end_of_run(end, &|c| c != ' ' && c != '\t');
            if is_scheme && spaces > end && spaces < chars.len() && !stop(chars[spaces]) {
                out.extend(&chars[end..spaces]);
                out.push_str(REDACTED);
                return end_of_run(spaces, &stop);
            }
            end
        }
    }
}

/// A word that is a secret whatever its key: JWT-shaped, or a long run.
fn looks_secret(word: &str) -> bool {
    if word.chars().count() >= MIN_SECRET_RUN || word.starts_with("eyJ") {
        return true;
    }
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("ey")
        && parts[..2].iter().all(|part| !part.is_empty())
        && parts
            .iter()
            .all(|part| part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// Whether `word` names a secret (see the module documentation).
fn is_secret_key(word: &str) -> bool {
    let key: String = word
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const NAMES: [&str; 9] = [
        "token",
        "secret",
        "passw",
        "sandbox",
        "authoriz",
        "credential",
        "cookie",
        "jwt",
        "signature",
    ];
    NAMES.iter().any(|name| key.contains(name)) || key.ends_with("key")
}

fn is_word_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | '+' | '/' | '~')
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
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn excerpt_never_panics(text in ".{0,300}") {
            let _ = excerpt(text.as_bytes());
        }

        #[test]
        fn values_of_secret_keys_never_survive(
            key in proptest::sample::select(vec![
                "participant_token", "participantToken", "token", "access_token", "secret",
                "api_secret", "sandbox_id", "X-Sandbox-ID", "Authorization", "apiKey", "password",
            ]),
            secret in "ZZ[A-Z0-9]{1,10}",
            template in 0usize..5,
            prefix in "[a-z ]{0,20}",
        ) {
            let body = match template {
                0 => format!(r#"{prefix}{{"{key}":"{secret}"}}"#),
                1 => format!("{prefix}{key}={secret}&x=1"),
                2 => format!("{prefix}\n{key}: {secret}\n"),
                3 => format!(r#"{{\"{key}\": \"{secret}\"}}"#),
                _ => format!(r#"{{"{key}": [ "{secret}" ]}}"#),
            };
            let text = excerpt(body.as_bytes());
            prop_assert!(!text.contains(&secret), "{} → {}", body, text);
        }
    }

    #[test]
    fn secret_formatting() {
        assert_eq!(format!("{:?}", Secret(JWT)), format!("<redacted, {} bytes>", JWT.len()));
        assert_eq!(Secret("abc").to_string(), "<redacted, 3 bytes>");
    }
}
