//! The compliance scans: deadline reminders every hour, certificate expiry every day (at 02:00
//! UTC), each visiting every active tenant in its own tenant transaction; and the matrix's CSV
//! export as a job a member waits on ([`ComplianceExport`]).

use std::time::Duration;

use guild_db::jobs::Schedule;
use guild_db::worker::Registry;
use guild_kernel::PageRequest;
use guild_progress::compliance::{self, DeadlineReminderScan, ExpiryScanJob, MatrixFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::{Output, Run, Stop, TrackedJob};
use crate::routes::compliance::{CSV_HEADER, csv_lines};
use crate::state::AppState;

/// Members read per step of [`ComplianceExport`]: a page of the matrix.
const EXPORT_PAGE: u32 = 200;

/// The compliance matrix's CSV export, made in the background (`POST
/// /v1/compliance/matrix/exports`): the file `GET /v1/compliance/matrix/export` answers, read a
/// page of members at a time as the member who asked, reporting after each page and stopping
/// there when cancelled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComplianceExport {
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// Only this module.
    pub module_id: Option<Uuid>,
}

impl TrackedJob for ComplianceExport {
    const KIND: &'static str = "compliance.export";

    async fn run(self, run: &mut Run) -> Result<Output, Stop> {
        let filter = MatrixFilter {
            group_id: self.group_id,
            module_id: self.module_id,
        };
        let (actor, now) = (run.actor.clone(), run.now);
        let total = run
            .write(async |conn| compliance::matrix_size(conn, &actor, &filter).await)
            .await?;
        run.progress(0, &format!("0 of {total} members")).await?;
        let mut csv = String::from(CSV_HEADER);
        let (mut done, mut cursor) = (0_i64, None);
        loop {
            let page = PageRequest {
                limit: Some(EXPORT_PAGE),
                cursor: cursor.take(),
            };
            let matrix = run
                .write(async |conn| compliance::matrix(conn, &actor, &filter, &page, now).await)
                .await?;
            csv_lines(&matrix, &mut csv);
            done += i64::try_from(matrix.rows.data.len()).unwrap_or(0);
            let Some(next) = matrix.rows.next_cursor else {
                break;
            };
            cursor = Some(next);
            let percent = (done * 100 / total.max(1)).clamp(0, 99);
            run.progress(
                i32::try_from(percent).unwrap_or(99),
                &format!("{done} of {total} members"),
            )
            .await?;
        }
        Ok(Output::File {
            name: "compliance.csv".to_owned(),
            content_type: "text/csv; charset=utf-8".to_owned(),
            bytes: csv.into_bytes(),
            summary: serde_json::json!({ "members": done }),
        })
    }
}

/// Registers the compliance scans (deadline reminders every hour, expiry every day at 02:00 UTC)
/// and the export job.
pub fn register(registry: &mut Registry, state: &AppState) {
    crate::jobs::register::<ComplianceExport>(registry, state);
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
