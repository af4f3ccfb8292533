//! Report exports made in the background ([`ReportExport`], `POST /v1/reports`): the rows read as
//! the member who asked (their EXPORT_REPORTS scope as it is when the job runs), written as CSV or
//! XLSX (`guild_documents::tabular`, on a blocking thread), stored, and announced to them
//! (`REPORT_READY`).

use guild_analytics::reports::{self, ReportFilter, ReportFormat, ReportKind, Value};
use guild_db::worker::Registry;
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
        let report = run
            .write(async |conn| reports::rows(conn, &actor, self.kind, &self.filters, now).await)
            .await?;
        let count = report.rows.len();
        run.progress(50, &format!("Writing {count} rows")).await?;
        let table = table(&report);
        let format = self.format;
        let bytes = tokio::task::spawn_blocking(move || match format {
            ReportFormat::Csv => tabular::to_csv(&table),
            ReportFormat::Xlsx => tabular::to_xlsx(&table),
        })
        .await
        .map_err(|_| ApiError::internal("the report writer stopped"))?
        .map_err(ApiError::internal)?;
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
                "truncated": report.truncated,
                "from": report.from,
                "to": report.to,
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

/// Registers the report job.
pub fn register(registry: &mut Registry, state: &AppState) {
    crate::jobs::register::<ReportExport>(registry, state);
}
