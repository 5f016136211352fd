//! Bearer tokens: the secret type, the provider trait, and `WWW-Authenticate` challenges.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::BoxError;

/// A bearer token. It is a secret: its `Debug` prints a placeholder and it has no `Display`.
///
/// The token is sent as given in `Authorization: Bearer <token>`; on-premises tokens already
/// start with `cwt=`, online ones are Azure AD JWTs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        Token(Arc::from(token.into()))
    }

    /// The token text. Handle it with care: it grants access to the user's calls.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl From<String> for Token {
    fn from(token: String) -> Self {
        Token(Arc::from(token))
    }
}

impl From<&str> for Token {
    fn from(token: &str) -> Self {
        Token(Arc::from(token))
    }
}

/// The future a [`TokenProvider`] returns. Any error type converts into its [`BoxError`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Token, BoxError>> + Send + 'a>>;

/// Supplies the bearer token. The client asks for it before every request, so a provider can
/// refresh tokens that expire (UCWA tokens last hours) without rebuilding the client.
///
/// # Examples
///
/// A provider that reads the newest token from shared state:
///
/// ```
/// use std::sync::{Arc, RwLock};
/// use ucwa::{Token, TokenFuture, TokenProvider};
///
/// struct Refreshing(Arc<RwLock<Token>>);
///
/// impl TokenProvider for Refreshing {
///     fn token(&self) -> TokenFuture<'_> {
///         let token = self.0.read().unwrap().clone();
///         Box::pin(async move { Ok(token) })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync {
    /// Returns the token to send with the next request.
    ///
    /// # Errors
    ///
    /// A provider that cannot produce a token returns any error; the client wraps it in
    /// [`Error::TokenProvider`](crate::Error::TokenProvider) (kind
    /// [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized)) and sends nothing.
    fn token(&self) -> TokenFuture<'_>;

    /// Returns a fresh token after the server refused the last one with a 401, given the
    /// `WWW-Authenticate` challenges of that reply (which name the token service). The client
    /// then repeats the request once with it; a second 401 is the caller's error.
    ///
    /// The default asks [`token`](TokenProvider::token) again, which suits a provider that
    /// refreshes on its own schedule.
    ///
    /// # Errors
    ///
    /// As for [`token`](TokenProvider::token).
    fn refresh<'a>(&'a self, challenges: &'a [Challenge]) -> TokenFuture<'a> {
        let _ = challenges;
        self.token()
    }
}

/// A token that never changes.
#[derive(Clone)]
pub struct StaticToken(Token);

impl StaticToken {
    /// A provider that always answers with this token.
    pub fn new(token: impl Into<Token>) -> Self {
        StaticToken(token.into())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticToken").field(&self.0).finish()
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// One challenge of a `WWW-Authenticate` header, such as
/// `MsRtcOAuth href="https://…/oauthtoken", grant_type="urn:microsoft.rtc:windows"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The authentication scheme (`Bearer`, `MsRtcOAuth`, …).
    pub scheme: String,
    /// The parameters, in the order given, with quoted values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Parses every challenge in one header value (RFC 7235 syntax). Parts that do not parse
    /// are skipped rather than failing the whole header.
    pub fn parse_header(value: &str) -> Vec<Challenge> {
        let mut parser = ChallengeParser {
            rest: value.as_bytes(),
        };
        let mut challenges: Vec<Challenge> = Vec::new();
        loop {
            parser.skip_separators();
            // A quoted string where a token belongs is skipped whole, not taken as the end.
            if parser.peek() == Some(b'"') {
                let _ = parser.value();
                continue;
            }
            if parser.peek().is_none() {
                break;
            }
            let Some(word) = parser.token() else { continue };
            parser.skip_spaces();
            if parser.peek() == Some(b'=') {
                // `word=value` continues the current challenge's parameters.
                parser.advance(1);
                parser.skip_spaces();
                let value = parser.value().unwrap_or_default();
                if let Some(current) = challenges.last_mut() {
                    current.params.push((word.to_owned(), value));
                }
            } else {
                challenges.push(Challenge {
                    scheme: word.to_owned(),
                    params: Vec::new(),
                });
            }
            parser.skip_spaces();
        }
        challenges
    }
}

struct ChallengeParser<'a> {
    rest: &'a [u8],
}

impl<'a> ChallengeParser<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn advance(&mut self, n: usize) {
        self.rest = &self.rest[n.min(self.rest.len())..];
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.advance(1);
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.advance(1);
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        // Skip stray bytes so that malformed input always makes progress.
        while self.peek().is_some_and(|b| !is_token_byte(b) && b != b'"') {
            self.advance(1);
        }
        let len = self.rest.iter().take_while(|&&b| is_token_byte(b)).count();
        if len == 0 {
            self.advance(1);
            return None;
        }
        let token = std::str::from_utf8(&self.rest[..len]).ok();
        self.advance(len);
        token
    }

    fn value(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return self.token().map(str::to_owned);
        }
        self.advance(1);
        let mut value = Vec::new();
        while let Some(byte) = self.peek() {
            self.advance(1);
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.advance(1);
                    }
                }
                other => value.push(other),
            }
        }
        Some(String::from_utf8_lossy(&value).into_owned())
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_secret() {
        let token = Token::new("cwt=secret-value");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        let provider = StaticToken::new("cwt=secret-value");
        assert!(!format!("{provider:?}").contains("secret-value"));
    }

    #[test]
    fn parses_the_ucwa_challenges() {
        let header = r#"MsRtcOAuth href="https://fe1.contoso.com/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password""#;
        let challenges = Challenge::parse_header(header);
        assert_eq!(challenges.len(), 1);
        assert_eq!(challenges[0].scheme, "MsRtcOAuth");
        assert_eq!(
            challenges[0].param("HREF"),
            Some("https://fe1.contoso.com/WebTicket/oauthtoken")
        );
        assert_eq!(
            challenges[0].param("grant_type"),
            Some("urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password")
        );
    }

    #[test]
    fn parses_several_challenges_in_one_header() {
        let header =
            r#"Bearer trusted_issuers="00000001@*", client_id="00000004", Basic realm="x y""#;
        let challenges = Challenge::parse_header(header);
        let schemes: Vec<_> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Bearer", "Basic"]);
        assert_eq!(challenges[0].param("client_id"), Some("00000004"));
        assert_eq!(challenges[1].param("realm"), Some("x y"));
    }

    #[test]
    fn malformed_headers_do_not_panic() {
        for header in [
            "",
            ",,,",
            "=",
            "\"",
            "Bearer a=\"unterminated",
            "é=ü",
            "Bearer =x",
        ] {
            let _ = Challenge::parse_header(header);
        }
        assert_eq!(Challenge::parse_header("Negotiate")[0].scheme, "Negotiate");
    }
}
