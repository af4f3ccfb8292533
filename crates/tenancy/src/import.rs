//! Bulk invitation from CSV, all or nothing, with a dry run.
//!
//! Columns (header row required, any order): `email`, `name`, `role`, and optionally `groups`
//! (group names separated by `;`). Every row is checked first — address, name, role (at most
//! below the importer's), duplicates in the file, existing members, unknown groups — and the
//! report lists every problem by row. Rows are imported only when there is none and it is not a
//! dry run. An import that would pass the tenant's daily invitation cap is refused as a whole,
//! and the report says the cap and what is left of it.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{groups, memberships, users};
use guild_kernel::{Actor, Permission, Target, TenantRole, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::TenancyError;
use crate::members::{Invite, check_invited_name, invite};
use crate::quota::InviteCaps;

/// The largest import accepted, in rows.
pub const MAX_ROWS: usize = 5000;

/// A problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based row number, counting the header as row 1.
    pub row: usize,
    /// The column.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// What an import did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Data rows read.
    pub rows: usize,
    /// Members invited (0 on a dry run or when any row is bad).
    pub imported: usize,
    /// Every problem found.
    pub errors: Vec<RowError>,
    /// Invitation emails the tenant may send per UTC day on its plan.
    pub daily_invitation_cap: u32,
    /// Invitation emails left today, before this import.
    pub invitations_left_today: u32,
}

/// Checks, and unless `dry_run` or any row is bad, invites every row.
pub async fn import_csv(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    csv_text: &str,
    dry_run: bool,
    caps: &InviteCaps,
    now: DateTime<Utc>,
) -> Result<ImportReport, TenancyError> {
    authorize(actor, Permission::ManageUsers, Target::Tenant)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| TenancyError::invalid("csv", "invalid_csv", &e.to_string()))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(email_col), Some(name_col), Some(role_col)) =
        (column("email"), column("name"), column("role"))
    else {
        return Err(TenancyError::invalid(
            "csv",
            "missing_columns",
            "the header must name email, name and role",
        ));
    };
    let groups_col = column("groups");

    let mut errors = Vec::new();
    let mut invites: Vec<(usize, Invite, Vec<String>)> = Vec::new();
    let mut seen = HashSet::new();
    let mut rows = 0;
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        rows += 1;
        if index >= MAX_ROWS {
            return Err(TenancyError::invalid(
                "csv",
                "too_many_rows",
                &format!("at most {MAX_ROWS} rows"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    field: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let cell = |i: usize| record.get(i).unwrap_or("").to_owned();
        let mut bad = |field: &str, message: &str| {
            errors.push(RowError {
                row,
                field: field.into(),
                message: message.into(),
            });
        };
        let email = cell(email_col);
        let valid_email = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !valid_email {
            bad("email", "not an email address");
        } else if !seen.insert(email.to_lowercase()) {
            bad("email", "appears twice in the file");
        }
        let name = cell(name_col);
        if check_invited_name(&name).is_err() {
            bad(
                "name",
                "must be 1 to 200 characters on one line, without control characters",
            );
        }
        let role = cell(role_col).to_uppercase().parse::<TenantRole>();
        match role {
            Err(_) => bad(
                "role",
                "must be one of OWNER, SUPER_ADMIN, ADMIN, HR, EMPLOYEE, VIEWER",
            ),
            Ok(role) if !(actor.role == TenantRole::Owner || actor.role.rank() < role.rank()) => {
                bad("role", "you cannot give a role at or above your own");
            }
            Ok(_) => {}
        }
        let group_names: Vec<String> = groups_col
            .map(|i| {
                cell(i)
                    .split(';')
                    .map(|g| g.trim().to_owned())
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(role) = role {
            let invite = Invite {
                email,
                name,
                role,
                manager_id: None,
                group_ids: Vec::new(),
            };
            invites.push((row, invite, group_names));
        }
    }

    // Existing members and group names, in two queries for the whole file.
    let emails: Vec<String> = invites
        .iter()
        .map(|(_, i, _)| i.email.to_lowercase())
        .collect();
    let existing: HashSet<String> = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(memberships::status.ne("REMOVED"))
        .filter(crate::lower(users::email).eq_any(&emails))
        .select(crate::lower(users::email))
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    let known_groups: HashMap<String, Uuid> = groups::table
        .filter(groups::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select((crate::lower(groups::name), groups::id))
        .load::<(String, Uuid)>(conn)
        .await?
        .into_iter()
        .collect();
    for (row, invite, names) in &mut invites {
        if existing.contains(&invite.email.to_lowercase()) {
            errors.push(RowError {
                row: *row,
                field: "email".into(),
                message: "already a member".into(),
            });
        }
        for name in names.iter() {
            match known_groups.get(&name.to_lowercase()) {
                Some(id) => invite.group_ids.push(*id),
                None => errors.push(RowError {
                    row: *row,
                    field: "groups".into(),
                    message: format!("no group named {name:?}"),
                }),
            }
        }
    }
    let allowance = crate::quota::allowance(conn, actor.tenant_id, caps, now).await?;
    if invites.len() > allowance.left as usize {
        errors.push(RowError {
            row: 1,
            field: "rows".into(),
            message: format!(
                "{} invitations, but the tenant may send {} more today ({} a day on the {} plan)",
                invites.len(),
                allowance.left,
                allowance.cap,
                allowance.plan
            ),
        });
    }
    errors.sort_by_key(|e| e.row);

    let mut report = ImportReport {
        dry_run,
        rows,
        imported: 0,
        errors,
        daily_invitation_cap: allowance.cap,
        invitations_left_today: allowance.left,
    };
    if dry_run || !report.errors.is_empty() {
        return Ok(report);
    }
    for (_, row_invite, _) in &invites {
        invite(conn, actor, row_invite, caps, now).await?;
    }
    report.imported = invites.len();
    Ok(report)
}
