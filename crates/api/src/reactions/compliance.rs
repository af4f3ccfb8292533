//! The compliance scans: deadline reminders every hour, certificate expiry every day (at 02:00
//! UTC), each visiting every active tenant in its own tenant transaction.

use std::time::Duration;

use guild_db::jobs::Schedule;
use guild_db::worker::Registry;
use guild_progress::compliance::{self, DeadlineReminderScan, ExpiryScanJob};

use crate::state::AppState;

/// Registers the compliance scans: deadline reminders every hour, expiry every day (at 02:00 UTC).
pub fn register(registry: &mut Registry, state: &AppState) {
    let s = state.clone();
    registry.on_job(move |_, _: DeadlineReminderScan| {
        let state = s.clone();
        async move {
            let now = state.clock.now();
            let mut conn = guild_db::connect(&state.db).await?;
            let mut sent = 0;
            for tenant in compliance::active_tenants(&mut conn).await? {
                sent += guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    compliance::send_deadline_reminders(c, tenant, now).await
                })
                .await?;
            }
            Ok(Some(serde_json::json!({ "sent": sent })))
        }
    });
    let s = state.clone();
    registry.on_job(move |_, _: ExpiryScanJob| {
        let state = s.clone();
        async move {
            let now = state.clock.now();
            let mut conn = guild_db::connect(&state.db).await?;
            let (mut expiring, mut expired) = (0, 0);
            for tenant in compliance::active_tenants(&mut conn).await? {
                let scan = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
                    compliance::scan_expiry(c, tenant, now).await
                })
                .await?;
                expiring += scan.expiring;
                expired += scan.expired;
            }
            Ok(Some(
                serde_json::json!({ "expiring": expiring, "expired": expired }),
            ))
        }
    });
    registry.schedule(Schedule::every(
        "deadline_reminders",
        Duration::from_secs(3600),
        &DeadlineReminderScan::default(),
    ));
    registry.schedule(
        Schedule::every(
            "compliance_scan",
            Duration::from_secs(86_400),
            &ExpiryScanJob::default(),
        )
        .at_offset(Duration::from_secs(2 * 3600)),
    );
}
