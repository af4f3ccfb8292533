//! Compliance: the users × mandatory modules matrix (JSON pages and a CSV export, in the response
//! or as a background job) and renewal. The scheduled scans and the export job are in
//! [`crate::reactions::compliance`].

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_progress::compliance::{self, ComplianceStatus, Matrix, MatrixFilter, MatrixRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader};
use crate::reactions::compliance::ComplianceExport;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, PageParams};
use crate::routes::jobs::JobDto;
use crate::routes::segment;

/// Registers `/v1/compliance`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/compliance")
            .service(get_compliance_matrix)
            .service(export_compliance)
            .service(start_compliance_export),
    );
}

/// Matrix filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MatrixQuery {
    /// Only members of this group.
    group_id: Option<Uuid>,
    /// Only this module.
    module_id: Option<Uuid>,
    /// Members per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// A member's state on one mandatory module.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CellDto {
    module_id: Uuid,
    /// EXPIRING: the certificate expires within 30 days.
    status: ComplianceStatus,
    /// Since when the cell has this status.
    since: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    /// The latest certificate's expiry.
    expires_at: Option<DateTime<Utc>>,
}

/// A member's row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatrixRowDto {
    user_id: Uuid,
    name: String,
    email: String,
    /// One per mandatory module assigned to them.
    cells: Vec<CellDto>,
    /// One per mandatory learning path assigned to them (left out when `module_id` filters).
    paths: Vec<PathCellDto>,
}

/// A member's state on one mandatory learning path: COMPLIANT once completed this cycle
/// (EXPIRING or EXPIRED by its path certificate), OVERDUE past its due date, IN_PROGRESS with one
/// of its modules completed, else NOT_STARTED.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PathCellDto {
    path_id: Uuid,
    status: ComplianceStatus,
    /// Since when the cell has this status.
    since: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    /// The latest path certificate's expiry.
    expires_at: Option<DateTime<Utc>>,
}

impl From<MatrixRow> for MatrixRowDto {
    fn from(r: MatrixRow) -> Self {
        Self {
            user_id: r.user_id,
            name: r.name,
            email: r.email,
            cells: r
                .cells
                .into_iter()
                .map(|c| CellDto {
                    module_id: c.module_id,
                    status: c.status,
                    since: c.since,
                    due_at: c.due_at,
                    expires_at: c.expires_at,
                })
                .collect(),
            paths: r
                .paths
                .into_iter()
                .map(|c| PathCellDto {
                    path_id: c.module_id,
                    status: c.status,
                    since: c.since,
                    due_at: c.due_at,
                    expires_at: c.expires_at,
                })
                .collect(),
        }
    }
}

/// A page of the compliance matrix.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatrixDto {
    /// Titles of the modules in this page's cells, by id.
    modules: BTreeMap<Uuid, String>,
    /// Titles of the learning paths in this page's path cells, by id.
    paths: BTreeMap<Uuid, String>,
    /// Members, ordered by id.
    data: Vec<MatrixRowDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

impl From<Matrix> for MatrixDto {
    fn from(m: Matrix) -> Self {
        Self {
            modules: m.modules,
            paths: m.paths,
            data: m.rows.data.into_iter().map(Into::into).collect(),
            next_cursor: m.rows.next_cursor,
        }
    }
}

/// Get the compliance matrix: members × mandatory modules and learning paths.
///
/// Each cell has a status and since when; a member's mandatory learning paths are in their
/// row's `paths` (left out when `module_id` filters, and not in the CSV export). VIEW_ALL_PROGRESS sees the tenant; VIEW_GROUP_PROGRESS
/// scoped to groups sees their members; a grant scoped to the manager subtree sees that subtree.
/// Members ordered by id, a page at a time.
#[utoipa::path(
    tag = "compliance",
    params(MatrixQuery),
    responses((status = 200, body = MatrixDto, description = "A page of members"), AuthErrors, InputErrors)
)]
#[get("/compliance/matrix")]
pub(crate) async fn get_compliance_matrix(
    ctx: Ctx<Permitted>,
    query: web::Query<MatrixQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = MatrixFilter {
        group_id: q.group_id,
        module_id: q.module_id,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let now = ctx.now;
    let matrix = ctx
        .write(async |conn| compliance::matrix(conn, &ctx.actor, &filter, &page, now).await)
        .await?;
    Ok(HttpResponse::Ok().json(MatrixDto::from(matrix)))
}

/// Export filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// Only members of this group.
    group_id: Option<Uuid>,
    /// Only this module.
    module_id: Option<Uuid>,
}

fn csv_field(value: &str) -> String {
    // Quote every field; neutralise spreadsheet formulas.
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

fn date(value: Option<DateTime<Utc>>) -> String {
    value.map(|d| d.to_rfc3339()).unwrap_or_default()
}

/// A CSV file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "text/csv")]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct CsvFile(Vec<u8>);

/// The first line of the CSV export.
pub(crate) const CSV_HEADER: &str =
    "user_id,name,email,module_id,module,status,since,due_at,expires_at,kind\n";

/// Appends the lines of one matrix page to a CSV export: one per member and mandatory module
/// (`kind` MODULE), then one per member and mandatory learning path (`kind` PATH, with the
/// path's id and title in the module columns).
pub(crate) fn csv_lines(matrix: &Matrix, out: &mut String) {
    for row in &matrix.rows.data {
        let modules = row.cells.iter().map(|c| (c, &matrix.modules, "MODULE"));
        let paths = row.paths.iter().map(|c| (c, &matrix.paths, "PATH"));
        for (cell, titles, kind) in modules.chain(paths) {
            let title = titles
                .get(&cell.module_id)
                .map(String::as_str)
                .unwrap_or_default();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{kind}\n",
                row.user_id,
                csv_field(&row.name),
                csv_field(&row.email),
                cell.module_id,
                csv_field(title),
                cell.status,
                date(cell.since),
                date(cell.due_at),
                date(cell.expires_at),
            ));
        }
    }
}

/// Export the whole compliance matrix as CSV.
///
/// One line per member and mandatory module, then per member and mandatory learning path
/// (`user_id, name, email, module_id, module, status, since, due_at, expires_at, kind`: `kind` is
/// MODULE or PATH, a path's line holding the path's id and title), with the matrix's permissions, scope and filters; sent as an
/// attachment named `compliance.csv`, in this response. A large tenant's export takes a while:
/// `POST /v1/compliance/matrix/exports` makes the same file in the background instead.
#[utoipa::path(
    tag = "compliance",
    params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = CsvFile, description = "The CSV file (UTF-8, a header line first)"), AuthErrors, InputErrors)
)]
#[get("/compliance/matrix/export")]
pub(crate) async fn export_compliance(
    ctx: Ctx<Permitted>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = MatrixFilter {
        group_id: q.group_id,
        module_id: q.module_id,
    };
    let now = ctx.now;
    let mut out = String::from(CSV_HEADER);
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest {
            limit: Some(200),
            cursor: cursor.clone(),
        };
        let matrix = ctx
            .write(async |conn| compliance::matrix(conn, &ctx.actor, &filter, &page, now).await)
            .await?;
        csv_lines(&matrix, &mut out);
        match matrix.rows.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"compliance.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}

/// What to export in the background.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "group_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e" }))]
pub(crate) struct ExportRequest {
    /// Only members of this group.
    group_id: Option<Uuid>,
    /// Only this module.
    module_id: Option<Uuid>,
}

/// Export the compliance matrix as CSV in the background.
///
/// The same file as `GET /v1/compliance/matrix/export`, made by a job: answers `202 Accepted`
/// with the job and its `Location` (`/v1/jobs/{id}`) at once. The job reports its progress
/// (members done of the total) there and on your event stream (`event: job`), may be cancelled
/// (`POST /v1/jobs/{id}/cancel`), and once SUCCEEDED its `result_url` gives the file. Needs what
/// the matrix needs (403 otherwise, before anything is queued); the file covers your scope as
/// it is when the job runs. 409 `job_limit_reached` while you have 5 jobs waiting or running.
#[utoipa::path(
    tag = "compliance",
    params(IdempotencyHeader),
    request_body = ExportRequest,
    responses(
        (status = 202, body = JobDto, description = "Queued: follow the job",
         headers(("Location" = String, description = "The job: `/v1/jobs/{id}`"))),
        AuthErrors, InputErrors, Conflict)
)]
#[post("/compliance/matrix/exports")]
pub(crate) async fn start_compliance_export(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<ExportRequest>,
) -> Result<HttpResponse, ApiError> {
    compliance::scope(&ctx.actor)?;
    let b = body.into_inner();
    crate::jobs::accept(
        &ctx,
        &key,
        ComplianceExport {
            group_id: b.group_id,
            module_id: b.module_id,
        },
    )
    .await
}
