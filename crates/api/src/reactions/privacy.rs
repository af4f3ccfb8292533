//! The personal data export, a job the member waits on ([`PersonalDataExport`]).

use guild_db::worker::Registry;
use serde::{Deserialize, Serialize};

use crate::jobs::{Output, Run, Stop, TrackedJob};
use crate::state::AppState;

/// Everything Guild holds about the member in the tenant, as one JSON file
/// (`POST /v1/me/data-export`): read in one tenant transaction, so the file is one consistent
/// moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersonalDataExport {}

impl TrackedJob for PersonalDataExport {
    const KIND: &'static str = "privacy.export";

    async fn run(self, run: &mut Run) -> Result<Output, Stop> {
        let (actor, now) = (run.actor.clone(), run.now);
        run.progress(0, "reading").await?;
        let document = run
            .write(async |conn| guild_privacy::export(conn, &actor, now).await)
            .await?;
        let records = document["records"].clone();
        let bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
        Ok(Output::File {
            name: "personal-data.json".to_owned(),
            content_type: "application/json".to_owned(),
            bytes,
            summary: serde_json::json!({ "records": records }),
        })
    }
}

/// Registers the export job.
pub fn register(registry: &mut Registry, state: &AppState) {
    crate::jobs::register::<PersonalDataExport>(registry, state);
}
