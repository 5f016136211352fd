//! The client, its configuration, and the rules that decide where a request may go.

use std::fmt;
use std::sync::{Arc, Mutex};

use reqwest::header::HeaderValue;
use std::time::Duration;

use url::{Origin, Url};

use crate::auth::{StaticToken, Token, TokenProvider};
use crate::error::Error;
use crate::link::Link;
use crate::operation_id::{OperationId, OperationIdGenerator, RandomOperationIds};
use crate::representation::Format;
use crate::resource::Resource;
use crate::retry::RetryPolicy;
use crate::session::Session;

/// The per-request timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read when no limit is configured: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// How many same-origin 307/308 redirects one request follows.
const MAX_REDIRECTS: usize = 5;

/// A UCWA client for one server origin.
///
/// Cloning is cheap: clones share one connection pool, token provider and configuration, so one
/// client can serve any number of sessions.
///
/// The client sends its token only to its configured origin. Every URL, whether given by the
/// caller or found in a link, is checked before anything is sent: another origin is refused with
/// [`Error::CrossOrigin`], plain `http` (unless allowed) with [`Error::InsecureUrl`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) tokens: Box<dyn TokenProvider>,
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
    pub(crate) allow_http: bool,
    pub(crate) operation_ids: Box<dyn OperationIdGenerator>,
    pub(crate) format: Format,
    pub(crate) retry: RetryPolicy,
    /// Whether POSTs are retried too (only when the caller asked for it).
    pub(crate) retry_posts: bool,
    /// The last token and the `Authorization` header made of it.
    pub(crate) authorization: Mutex<Option<(Token, HeaderValue)>>,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The origin the client talks to, as a URL with an empty path (`https://host:port/`).
    pub fn origin(&self) -> &Url {
        &self.inner.base
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The representation the client asks for and sends inputs in.
    pub fn format(&self) -> Format {
        self.inner.format
    }

    /// The largest response body the client reads, in bytes.
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// A session handle for an `audioVideoSession` URL. Nothing is fetched yet: the resource is
    /// read the first time the session needs its links.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a malformed URL, [`Error::CrossOrigin`] or
    /// [`Error::InsecureUrl`] for one the client must not send to.
    pub fn session(&self, url: &str) -> Result<Session, Error> {
        let url = self.resolve_href(url)?;
        Ok(Session::new(self.clone(), url, None))
    }

    /// A session handle for an `audioVideoSession` resource fetched elsewhere (embedded in an
    /// event, say). Its `self` link, when present, is where it is read again.
    ///
    /// # Errors
    ///
    /// As for [`Client::session`], for the resource's `self` link.
    pub fn session_from_resource(&self, resource: Resource) -> Result<Session, Error> {
        let url = match resource.self_link() {
            Some(link) => Some(self.resolve(link)?),
            None => None,
        };
        Ok(Session::from_parts(self.clone(), url, resource))
    }

    /// A fresh operation id from the client's generator.
    pub fn next_operation_id(&self) -> OperationId {
        self.inner.operation_ids.generate()
    }

    /// Resolves a link against the origin and checks that the client may send to it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a `data:` URI (its content is in the href; it is never
    /// fetched) or a scheme other than http(s); [`Error::CrossOrigin`] and
    /// [`Error::InsecureUrl`] as for [`Client::session`].
    pub fn resolve(&self, link: &Link) -> Result<Url, Error> {
        self.resolve_href(&link.href)
    }

    pub(crate) fn resolve_href(&self, href: &str) -> Result<Url, Error> {
        // `Url::join` takes nearly any text as a relative path; UCWA hrefs are absolute URLs or
        // absolute paths, so anything else is a mistake, not a path.
        let has_scheme = href
            .split_once(':')
            .is_some_and(|(scheme, _)| Url::parse(&format!("{scheme}:x")).is_ok());
        if href.chars().any(|c| c.is_whitespace() || c.is_control())
            || !(has_scheme || href.starts_with('/'))
        {
            return Err(Error::InvalidInput(format!(
                "{href:?} is not an absolute url or an absolute path"
            )));
        }
        let url = self.inner.base.join(href).map_err(|error| {
            Error::InvalidInput(format!("{href:?} is not a valid url: {error}"))
        })?;
        self.check_target(&url)?;
        Ok(url)
    }

    /// The origin guard: the one place that decides whether a URL may receive a request.
    pub(crate) fn check_target(&self, url: &Url) -> Result<(), Error> {
        match url.scheme() {
            "https" => {}
            "http" if self.inner.allow_http => {}
            "http" => {
                return Err(Error::InsecureUrl {
                    url: url.to_string(),
                });
            }
            "data" => {
                return Err(Error::InvalidInput(
                    "a data uri carries its content and is never fetched".to_owned(),
                ));
            }
            other => {
                return Err(Error::InvalidInput(format!(
                    "the url scheme {other:?} is not http or https"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::InvalidInput(
                "urls with user information are refused".to_owned(),
            ));
        }
        // The same comparison as of origins, without building one for every request.
        let base = &self.inner.base;
        let same_origin = url.scheme() == base.scheme()
            && url.host() == base.host()
            && url.port_or_known_default() == base.port_or_known_default();
        if !same_origin {
            return Err(Error::CrossOrigin {
                origin: url.origin().ascii_serialization(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("origin", &self.inner.base.as_str())
            .field("timeout", &self.inner.timeout)
            .field("max_body", &self.inner.max_body)
            .field("allow_http", &self.inner.allow_http)
            .field("format", &self.inner.format)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]. Setters consume the builder and return it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let client = ucwa::Client::builder()
///     .origin("https://fe1.contoso.com")
///     .token("cwt=AAEB…")
///     .timeout(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// assert_eq!(client.origin().as_str(), "https://fe1.contoso.com/");
/// ```
#[derive(Default)]
#[must_use]
pub struct ClientBuilder {
    origin: Option<String>,
    tokens: Option<Box<dyn TokenProvider>>,
    timeout: Option<Duration>,
    max_body: Option<usize>,
    allow_http: bool,
    operation_ids: Option<Box<dyn OperationIdGenerator>>,
    http: Option<reqwest::Client>,
    format: Format,
    retry: Option<RetryPolicy>,
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    roots: Vec<reqwest::Certificate>,
}

impl ClientBuilder {
    /// The server's origin (`https://host[:port]`): the only origin that ever receives the
    /// token. A URL with a path is accepted and only its origin is kept.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// A token that never changes. Use [`ClientBuilder::token_provider`] for tokens that expire.
    pub fn token(self, token: impl Into<Token>) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// The provider asked for the token before every request.
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Box::new(provider));
        self
    }

    /// The time one request may take, from the token lookup to the last byte of the body.
    /// Default: 30 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The largest response body to read, in bytes; a larger one is
    /// [`Error::BodyTooLarge`]. Default: 4 MiB.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Whether plain `http://` URLs may be used (for loopback test servers). Default: false, and
    /// such URLs are refused before any request.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The generator of operation ids for operations not given one. Default:
    /// [`RandomOperationIds`].
    pub fn operation_ids(mut self, generator: impl OperationIdGenerator + 'static) -> Self {
        self.operation_ids = Some(Box::new(generator));
        self
    }

    /// The representation to ask for (`Accept`) and to send inputs in. Default: JSON.
    ///
    /// Replies are read in whatever representation their `Content-Type` names, so a server or
    /// proxy that answers in the other one is still understood.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Retries every request, POSTs included, under this policy (see [`RetryPolicy`] for what
    /// is retried). Without it, only GETs are retried, under [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Trusts this certificate authority too, beside the platform's roots (for a server whose
    /// certificate a private CA signed). Certificates are always verified: there is no option
    /// to turn that off. Ignored when [`http_client`](Self::http_client) supplies the client.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.roots.push(certificate);
        self
    }

    /// A `reqwest::Client` to send requests with, for custom TLS roots, proxies or connection
    /// pools.
    ///
    /// Its own redirect policy applies. The client this crate builds otherwise follows only
    /// 307 and 308 redirects, only within the origin, at most five times.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the origin or token provider is missing, the origin is not
    /// an http(s) URL, the timeout or body limit is zero, or the XML format is asked for without
    /// the `xml` feature; [`Error::InsecureUrl`] for an
    /// `http` origin without [`ClientBuilder::allow_http`]; [`Error::Transport`] when the
    /// HTTP client cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let origin_text = self
            .origin
            .ok_or_else(|| Error::InvalidInput("the client needs an origin".to_owned()))?;
        let tokens = self
            .tokens
            .ok_or_else(|| Error::InvalidInput("the client needs a token provider".to_owned()))?;
        let parsed = Url::parse(&origin_text).map_err(|error| {
            Error::InvalidInput(format!("the origin {origin_text:?} is not a url: {error}"))
        })?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(Error::InsecureUrl {
                    url: parsed.to_string(),
                });
            }
            other => {
                return Err(Error::InvalidInput(format!(
                    "the origin's scheme {other:?} is not http or https"
                )));
            }
        }
        let origin = parsed.origin();
        let base = Url::parse(&format!("{}/", origin.ascii_serialization()))
            .map_err(|error| Error::InvalidInput(format!("the origin is not usable: {error}")))?;

        if self.format == Format::Xml && !cfg!(feature = "xml") {
            return Err(Error::InvalidInput(
                "the xml format needs the crate's xml feature".to_owned(),
            ));
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let max_body = self.max_body.unwrap_or(DEFAULT_MAX_BODY);
        if timeout.is_zero() || max_body == 0 {
            return Err(Error::InvalidInput(
                "the timeout and the body limit must be greater than zero".to_owned(),
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let builder = reqwest::Client::builder().connect_timeout(timeout);
                #[cfg(any(feature = "rustls", feature = "native-tls"))]
                let builder = self
                    .roots
                    .into_iter()
                    .fold(builder, |builder, root| builder.add_root_certificate(root));
                default_http_client(builder, origin.clone())?
            }
        };

        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base,
                tokens,
                timeout,
                max_body,
                allow_http: self.allow_http,
                operation_ids: self
                    .operation_ids
                    .unwrap_or_else(|| Box::new(RandomOperationIds)),
                format: self.format,
                retry: self.retry.unwrap_or_default(),
                retry_posts: self.retry.is_some(),
                authorization: Mutex::new(None),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("origin", &self.origin)
            .field(
                "token_provider",
                &self.tokens.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

fn default_http_client(
    builder: reqwest::ClientBuilder,
    origin: Origin,
) -> Result<reqwest::Client, Error> {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let same_origin = attempt.url().origin() == origin;
        let keeps_method = matches!(attempt.status().as_u16(), 307 | 308);
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if same_origin && keeps_method {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    builder.redirect(policy).build().map_err(Error::Transport)
}
