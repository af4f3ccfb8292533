//! Webhooks to the Standard Webhooks specification: a tenant's endpoints, the signed messages
//! its events become, and what each attempt to deliver them got.
//!
//! - [`endpoints`] owns `webhook_endpoints`: `https` URLs checked by the kernel's
//!   `WebhookSender` port (the SSRF guard), the event types each wants, enabled or disabled, a
//!   `whsec_` secret shown once and stored sealed (`guild_kernel::sealed`), rotation with an
//!   overlap in which both secrets sign.
//! - [`deliveries`] owns `webhook_deliveries` and `webhook_attempts`: one message per endpoint
//!   and source event, its stable `webhook-id`, the retry schedule over about three days, the
//!   attempts' log.
//! - [`signing`]: the `webhook-*` headers and their HMAC-SHA256 signatures.
//! - [`catalog`]: the public event types and the domain events they are made from.
//!
//! Only MANAGE_WEBHOOKS holders (ADMIN and above by role) manage endpoints. Nothing here opens a
//! connection: the api layer sends what [`deliveries::prepare`] gives it through the port and
//! records the outcome with [`deliveries::record_attempt`]. Time comes in as `now`. This crate
//! depends on `kernel` and `db` only and reads tenancy's `memberships` in SQL.

pub mod catalog;
pub mod deliveries;
pub mod endpoints;
pub mod error;
pub mod signing;

#[cfg(test)]
mod tests;

pub use error::WebhookError;

use guild_kernel::PageRequest;

/// The id a page's cursor names.
pub(crate) fn cursor_uuid(page: &PageRequest) -> Result<Option<uuid::Uuid>, WebhookError> {
    let invalid = || WebhookError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    match page.cursor().map_err(|_| invalid())? {
        None => Ok(None),
        Some(c) => c.0.parse().map(Some).map_err(|_| invalid()),
    }
}
