//! [`SmtpMailer`]: submits mail to an SMTP server (lettre on tokio, TLS through rustls).

use std::time::Duration;

use guild_kernel::ports::{BoxFuture, Email, MailError, Mailer};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::response::{Category, Severity};
use lettre::transport::smtp::{self, AsyncSmtpTransportBuilder};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::IntegrationError;

const SERVICE: &str = "smtp";

/// Sends email through an SMTP server.
///
/// Every [`send`](Mailer::send) opens its own connection (connect, TLS, authentication, one
/// message, `QUIT`): transactional mail is rare enough that reusing connections is not worth a
/// connection that outlives the runtime that opened it, or one left mid-conversation by a timeout.
/// Cloning is cheap enough to do per request, and clones send independently.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransportBuilder,
    from: Mailbox,
    timeout: Duration,
    /// The URL without credentials, for `Debug`.
    endpoint: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("endpoint", &self.endpoint)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Configures a mailer; nothing connects until the first send.
    ///
    /// `url` follows lettre's connection URLs, `scheme://[user:password@]host[:port][/ehlo-name][?tls=…]`
    /// (percent-encode special characters in the user name and password):
    ///
    /// | URL                                   | transport                                  | default port |
    /// | ------------------------------------- | ------------------------------------------ | ------------ |
    /// | `smtps://user:pass@host`              | implicit TLS (recommended)                 | 465          |
    /// | `smtp://user:pass@host?tls=required`  | STARTTLS, refusing to continue without it  | 587          |
    /// | `smtp://host?tls=opportunistic`       | STARTTLS when offered, else plain text     | 587          |
    /// | `smtp://host:1025`                    | plain text (local sinks such as Mailpit)   | 25           |
    ///
    /// `from` is the sender, with or without a display name (`Guild <no-reply@guild.local>`).
    /// `timeout` bounds a whole send: connecting, TLS, authentication and delivery.
    ///
    /// Fails with [`IntegrationError::Misconfigured`] on an unusable URL, sender or timeout; the
    /// message never repeats the URL, so it cannot leak the password.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, IntegrationError> {
        let misconfigured = |message: String| IntegrationError::Misconfigured {
            service: SERVICE,
            message,
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| misconfigured(format!("invalid SMTP URL: {e}")))?
            .timeout(Some(timeout));
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| misconfigured(format!("invalid sender address {from:?}: {e}")))?;
        if timeout.is_zero() {
            return Err(misconfigured("the SMTP timeout must be positive".into()));
        }
        Ok(Self {
            transport,
            from,
            timeout,
            endpoint: redact(url),
        })
    }

    /// The sender every email goes out as.
    pub fn from_address(&self) -> &Mailbox {
        &self.from
    }

    async fn deliver(&self, email: &Email) -> Result<(), MailError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError::Rejected(format!("invalid recipient address: {e}")))?;
        let domain = to.email.domain().to_owned();
        let message = self.message(to, email)?;

        // A transport per send: its pool (lettre always builds one) lives and dies with this call.
        let transport = self.transport.clone().build::<Tokio1Executor>();
        let outcome = match tokio::time::timeout(self.timeout, transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_elapsed) => Err(MailError::Unavailable(format!(
                "the SMTP server did not finish within {:?}",
                self.timeout
            ))),
        };
        // Not the error text: servers quote the full address in it. The caller gets it instead.
        match &outcome {
            Ok(()) => tracing::debug!(recipient_domain = %domain, "email sent"),
            Err(MailError::Rejected(_)) => {
                tracing::debug!(recipient_domain = %domain, "email rejected");
            }
            Err(MailError::Unavailable(_)) => {
                tracing::debug!(recipient_domain = %domain, "email not sent: SMTP unavailable");
            }
        }
        outcome
    }

    fn message(&self, to: Mailbox, email: &Email) -> Result<Message, MailError> {
        email.check_headers()?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .message_id(None);
        for (name, value) in &email.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| MailError::Rejected(format!("invalid header name {name:?}")))?;
            // Checked above: one line of printable ASCII, sent as it is (a URL in angle brackets
            // must reach the client unchanged).
            builder = builder.raw_header(HeaderValue::dangerous_new_pre_encoded(
                name,
                value.clone(),
                value.clone(),
            ));
        }
        let built = match (&email.html, email.attachments.is_empty()) {
            (None, true) => builder.singlepart(SinglePart::plain(email.text.clone())),
            (Some(html), true) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                html.clone(),
            )),
            (html, false) => {
                let mut mixed = match html {
                    None => MultiPart::mixed().singlepart(SinglePart::plain(email.text.clone())),
                    Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
                        email.text.clone(),
                        html.clone(),
                    )),
                };
                for file in &email.attachments {
                    let content_type = ContentType::parse(&file.content_type).map_err(|_| {
                        MailError::Rejected(format!(
                            "invalid attachment type {:?}",
                            file.content_type
                        ))
                    })?;
                    mixed = mixed.singlepart(
                        lettre::message::Attachment::new(file.filename.clone())
                            .body(file.content.clone(), content_type),
                    );
                }
                builder.multipart(mixed)
            }
        };
        built.map_err(|e| MailError::Rejected(format!("cannot build the message: {e}")))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(self.deliver(email))
    }
}

/// Permanent replies (5xx) reject the message, except 53x: those refuse *us* (authentication
/// required or failed), which is a configuration problem to fix and then retry. Everything else
/// (4xx, connection, TLS, protocol) is worth retrying.
fn classify(error: &smtp::Error) -> MailError {
    match error.status() {
        Some(code)
            if code.severity == Severity::PermanentNegativeCompletion
                && code.category != Category::Unspecified3 =>
        {
            MailError::Rejected(error.to_string())
        }
        _ => MailError::Unavailable(error.to_string()),
    }
}

/// `url` without its user name and password.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_credentials_only() {
        assert_eq!(
            redact("smtps://user:s3cret@mail.example.com:465/ehlo?tls=required"),
            "smtps://mail.example.com:465/ehlo?tls=required"
        );
        assert_eq!(
            redact("smtp://p%40ss@localhost:1025"),
            "smtp://localhost:1025"
        );
        assert_eq!(redact("smtp://localhost"), "smtp://localhost");
        assert_eq!(redact("nonsense"), "<not a URL>");
    }
}
