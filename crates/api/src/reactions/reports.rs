//! Report exports made in the background ([`ReportExport`], `POST /v1/reports`): the rows read as
//! the member who asked (their EXPORT_REPORTS scope as it is when the job runs), written as CSV or
//! XLSX (`guild_documents::tabular`) or, for the compliance report, as a PDF
//! (`guild_documents::compliance`), on a blocking thread, stored, and announced to them
//! (`REPORT_READY`).

use guild_analytics::reports::{
    self, ComplianceDocument, ReportFilter, ReportFormat, ReportKind, Value,
};
use guild_db::worker::Registry;
use guild_documents::compliance::{self as pdf, ComplianceReport};
use guild_documents::tabular::{self, Cell, Table};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::jobs::{Output, Run, Stop, TrackedJob};
use crate::state::AppState;

/// A report to make.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportExport {
    /// What it lists.
    pub kind: ReportKind,
    /// Its file format.
    pub format: ReportFormat,
    /// What it covers.
    pub filters: ReportFilter,
}

impl TrackedJob for ReportExport {
    const KIND: &'static str = "report.export";
    const READY_NOTICE: Option<&'static str> = Some("Your report is ready");

    async fn run(self, run: &mut Run) -> Result<Output, Stop> {
        let (actor, now) = (run.actor.clone(), run.now);
        run.progress(0, "Reading").await?;
        let format = self.format;
        let (bytes, count, truncated, from, to) = if format == ReportFormat::Pdf {
            let doc = run
                .write(async |conn| {
                    reports::compliance_document(conn, &actor, &self.filters, now).await
                })
                .await?;
            let (count, truncated, from, to) = (doc.lines.len(), doc.truncated, doc.from, doc.to);
            run.progress(50, &format!("Writing {count} rows")).await?;
            let document = document(&doc);
            let bytes = tokio::task::spawn_blocking(move || pdf::compliance_pdf(&document))
                .await
                .map_err(|_| ApiError::internal("the report writer stopped"))?
                .map_err(ApiError::internal)?;
            (bytes, count, truncated, from, to)
        } else {
            let report = run
                .write(async |conn| {
                    reports::rows(conn, &actor, self.kind, &self.filters, now).await
                })
                .await?;
            let count = report.rows.len();
            run.progress(50, &format!("Writing {count} rows")).await?;
            let table = table(&report);
            let bytes = tokio::task::spawn_blocking(move || match format {
                ReportFormat::Xlsx => tabular::to_xlsx(&table),
                ReportFormat::Csv | ReportFormat::Pdf => tabular::to_csv(&table),
            })
            .await
            .map_err(|_| ApiError::internal("the report writer stopped"))?
            .map_err(ApiError::internal)?;
            (bytes, count, report.truncated, report.from, report.to)
        };
        Ok(Output::File {
            name: format!(
                "{}-{}.{}",
                self.kind.as_str().to_lowercase().replace('_', "-"),
                now.format("%Y-%m-%d"),
                format.as_str().to_lowercase()
            ),
            content_type: format.content_type().to_owned(),
            bytes,
            summary: serde_json::json!({
                "report": self.kind,
                "format": format,
                "rows": count,
                "truncated": truncated,
                "from": from,
                "to": to,
            }),
        })
    }
}

/// The report as a table of the documents crate.
fn table(report: &reports::Report) -> Table {
    Table {
        name: report.kind.as_str().to_lowercase(),
        columns: report.columns.iter().map(|c| (*c).to_owned()).collect(),
        rows: report
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        Value::Empty => Cell::Empty,
                        Value::Text(t) => Cell::Text(t.clone()),
                        Value::Int(n) => Cell::Int(*n),
                        Value::Number(x) => Cell::Number(*x),
                        Value::Time(t) => {
                            Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        }
                    })
                    .collect()
            })
            .collect(),
    }
}

/// The compliance report as the documents crate lays it out: dates as `YYYY-MM-DD` (UTC), the
/// totals per status in the matrix's order.
fn document(doc: &ComplianceDocument) -> ComplianceReport {
    use guild_progress::compliance::ComplianceStatus as S;
    let day = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let members: std::collections::HashSet<_> = doc.lines.iter().map(|l| l.user_id).collect();
    let mut totals = vec![
        ("Members".to_owned(), members.len() as u64),
        (
            "Mandatory modules assigned".to_owned(),
            doc.lines.len() as u64,
        ),
    ];
    for (status, label) in [
        (S::Compliant, "Compliant"),
        (S::Expiring, "Expiring within 30 days"),
        (S::Expired, "Expired"),
        (S::Overdue, "Overdue"),
        (S::InProgress, "In progress"),
        (S::NotStarted, "Not started"),
    ] {
        let n = doc.lines.iter().filter(|l| l.status == status).count();
        totals.push((label.to_owned(), n as u64));
    }
    ComplianceReport {
        tenant_name: doc.tenant_name.clone(),
        period: format!(
            "{} – {} (UTC)",
            doc.from.format("%Y-%m-%d %H:%M"),
            doc.to.format("%Y-%m-%d %H:%M")
        ),
        generated_at: doc.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        generated_by: doc.generated_by.clone(),
        totals,
        notice: doc.truncated.then(|| {
            format!(
                "Only the first {} lines are included; narrow the report by group or module.",
                reports::MAX_ROWS
            )
        }),
        groups: doc
            .groups
            .iter()
            .map(|g| pdf::GroupChart {
                name: g.name.clone(),
                bars: g
                    .modules
                    .iter()
                    .map(|m| pdf::Bar {
                        label: m.title.clone(),
                        assigned: m.assigned,
                        completed: m.completed,
                        overdue: m.overdue,
                    })
                    .collect(),
            })
            .collect(),
        lines: doc
            .lines
            .iter()
            .map(|l| pdf::Line {
                member: l.name.clone(),
                email: l.email.clone(),
                module: l.module.clone(),
                status: l.status.as_str().to_owned(),
                since: day(l.since),
                due: day(l.due_at),
                expires: day(l.expires_at),
            })
            .collect(),
    }
}

/// Registers the report job.
pub fn register(registry: &mut Registry, state: &AppState) {
    crate::jobs::register::<ReportExport>(registry, state);
}
