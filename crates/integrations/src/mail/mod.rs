//! Email delivery: the two [`Mailer`](guild_kernel::ports::Mailer)s Guild ships.
//!
//! - [`SmtpMailer`] submits mail to an SMTP server (lettre on tokio, TLS through rustls). It is
//!   configured with one URL (`smtp://`, `smtp://…?tls=required`, `smtps://`) and a `From`
//!   address, and it sorts failures into
//!   [`MailError::Rejected`](guild_kernel::ports::MailError::Rejected) (retrying will not help)
//!   and [`MailError::Unavailable`](guild_kernel::ports::MailError::Unavailable) (retry later).
//! - [`RecordingMailer`] keeps the most recent emails in memory (refusing only malformed headers): the development
//!   default when no SMTP server is configured, and what tests read sign-in links from.
//!
//! Bodies carry single-use tokens (sign-in links, password resets), so nothing here logs them, nor
//! the SMTP password.
//!
//! [`inbound`] reads the other direction: the raw MIME of a reply a mail service forwards.
//!
//! One file per mailer (`smtp.rs`, `recording.rs`).

pub mod inbound;
mod recording;
mod smtp;

pub use recording::RecordingMailer;
pub use smtp::SmtpMailer;
