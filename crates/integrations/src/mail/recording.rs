//! [`RecordingMailer`]: keeps the most recent emails in memory instead of delivering them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use guild_kernel::ports::{BoxFuture, Email, MailError, Mailer};

/// Keeps sent emails in memory instead of delivering them; fails only as an SMTP server would
/// refuse the message itself (headers that are not one line of printable ASCII).
///
/// The development default when no SMTP server is configured. Clones share one record, so a test
/// can keep a clone and read what the application sent. Only the newest
/// [`capacity`](Self::with_capacity) emails are kept.
#[derive(Clone)]
pub struct RecordingMailer {
    sent: Arc<Mutex<VecDeque<Email>>>,
    capacity: usize,
}

impl std::fmt::Debug for RecordingMailer {
    // Not the emails: their bodies hold tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingMailer")
            .field("recorded", &self.lock().len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for RecordingMailer {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingMailer {
    /// How many emails [`new`](Self::new) keeps.
    pub const DEFAULT_CAPACITY: usize = 200;

    /// A recorder keeping the last [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) emails.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A recorder keeping the last `capacity` emails (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            sent: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.min(64)))),
            capacity,
        }
    }

    /// The recorded emails, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        self.lock().iter().cloned().collect()
    }

    /// The newest email recorded for `to` (compared ignoring ASCII case).
    pub fn last_to(&self, to: &str) -> Option<Email> {
        self.lock()
            .iter()
            .rev()
            .find(|email| email.to.eq_ignore_ascii_case(to))
            .cloned()
    }

    /// Forgets every recorded email.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn record(&self, email: &Email) {
        let mut sent = self.lock();
        while sent.len() >= self.capacity {
            sent.pop_front();
        }
        sent.push_back(email.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Email>> {
        // Nothing panics while holding the lock, and a half-finished push cannot corrupt a deque.
        self.sent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Mailer for RecordingMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            email.check_headers()?;
            self.record(email);
            tracing::info!(to = %email.to, subject = %email.subject, "email recorded");
            Ok(())
        })
    }
}
