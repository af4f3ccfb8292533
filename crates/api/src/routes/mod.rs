//! HTTP handlers, one module per URL scope: `rewards.rs` holds `/v1/rewards…`, `me/` holds
//! `/v1/me/…`. Each module declares its scope in its `configure` (a [`segment`] with its
//! handlers, in order), and each handler names its whole path below `/v1`
//! (`#[get("/rewards")]`, never an empty path). A handler takes a [`Ctx`](crate::ctx::Ctx),
//! extracts and validates its input, calls one domain function and maps the result to a DTO.

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse, Url};
use actix_web::guard::{Guard, GuardContext};
use utoipa_actix_web::scope::{Scope, scope};

pub mod ai;
pub mod ai_assist;
pub mod analytics;
pub mod announcements;
pub mod api_keys;
pub mod assignment_reviews;
pub mod assignments;
pub mod attempts;
pub mod audit;
pub mod auth;
pub mod calendar_feeds;
pub mod certificates;
pub mod changelog;
pub mod chat;
pub mod coaching;
pub(crate) mod common;
pub mod compliance;
mod constraints;
pub mod discussions;
pub mod email;
pub mod event_attendance;
pub mod events;
pub mod feed;
pub mod gamification;
pub mod groups;
pub mod inbound;
pub mod jobs;
pub mod leaderboard;
pub mod manager_dashboard;
pub mod me;
pub mod media;
pub mod members;
pub mod module_categories;
pub mod modules;
pub mod notification_templates;
pub mod ops;
pub mod path_certificates;
pub mod paths;
pub mod presence;
pub mod progress_overrides;
pub mod question_banks;
pub mod questions;
pub mod quiz_reviews;
pub mod quizzes;
pub mod redemptions;
pub mod reports;
pub mod rewards;
pub mod scim;
pub mod sections;
pub mod stream;
pub mod submissions;
pub mod suggestions;
pub mod tenant;
pub mod tenants;
pub mod webhooks;
pub mod xp;

/// The versioned API's prefix.
pub(crate) const V1: &str = "/v1";

/// The scope of the routes under one first path segment of [`V1`] (`segment("/rewards")` for
/// `/v1/rewards` and `/v1/rewards/…`). It adds nothing to its handlers' paths, which name the
/// segment themselves; a request enters it only when its first segment is that one, so it is
/// matched against the routes of its own resource only (a route is a regex match; a flat list
/// of ~135 was tried in turn, for every request). The segment is compared as actix's router
/// compares a scope's prefix: on the path with its percent-encoded unreserved characters
/// decoded, and ending at a `/` or the path's end.
pub(crate) fn segment(
    first: &'static str,
) -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    scope("").guard(FirstSegment(first))
}

/// Admits a request whose path below [`V1`] begins with the segment.
struct FirstSegment(&'static str);

impl Guard for FirstSegment {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        let uri = &ctx.head().uri;
        if uri.path().contains('%') {
            self.admits(Url::new(uri.clone()).path())
        } else {
            self.admits(uri.path())
        }
    }
}

impl FirstSegment {
    fn admits(&self, path: &str) -> bool {
        path.strip_prefix(V1)
            .and_then(|rest| rest.strip_prefix(self.0))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::FirstSegment;

    #[test]
    fn a_segment_admits_its_own_paths_only() {
        let rewards = FirstSegment("/rewards");
        assert!(rewards.admits("/v1/rewards"));
        assert!(rewards.admits("/v1/rewards/"));
        assert!(rewards.admits("/v1/rewards/abc/redemptions"));
        assert!(!rewards.admits("/v1/rewardsx"));
        assert!(!rewards.admits("/v1/redemptions"));
        assert!(!rewards.admits("/rewards"));
        assert!(!rewards.admits("/v1"));
    }

    /// Route files follow URLs: a file (or a folder with its `mod.rs`, or `x.rs` beside `x/`)
    /// declares one segment, every handler in it names a path under that segment, and no scope
    /// registers a handler of another file.
    #[test]
    fn every_route_file_holds_the_handlers_of_its_own_scope_only() {
        use std::collections::BTreeMap;
        use std::path::{Path, PathBuf};

        /// Outside `/v1`: the probes and metrics (`ops.rs`, routed by `app.rs`) and SCIM (its
        /// own `/scim/v2` scope).
        const OUTSIDE: [&str; 2] = ["ops", "scim"];

        fn code_lines(text: &str) -> impl Iterator<Item = &str> {
            text.lines().filter(|l| !l.trim_start().starts_with("//"))
        }
        fn quoted_after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
            let rest = &line[line.find(marker)? + marker.len()..];
            Some(&rest[..rest.find('"')?])
        }
        fn first_segment(path: &str) -> &str {
            let rest = path.strip_prefix('/').unwrap_or(path);
            &path[..rest.find('/').map_or(path.len(), |i| i + 1)]
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let files = crate::sources::rust_files(&root);
        // The scope a file belongs to: its first path component below routes/, without `.rs`.
        let scope_of = |file: &Path| -> String {
            let rel = file.strip_prefix(&root).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            first.trim_end_matches(".rs").to_owned()
        };
        let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut handlers: Vec<(PathBuf, String)> = Vec::new();
        for file in files.iter().filter(|f| **f != root.join("mod.rs")) {
            let text = std::fs::read_to_string(file).unwrap();
            let scope = scope_of(file);
            for line in code_lines(&text) {
                if let Some(segment) = quoted_after(line, "segment(\"") {
                    declared
                        .entry(scope.clone())
                        .or_default()
                        .push(segment.to_owned());
                }
                for method in ["get", "post", "put", "patch", "delete"] {
                    if let Some(path) = quoted_after(line, &format!("#[{method}(\"")) {
                        handlers.push((file.clone(), path.to_owned()));
                    }
                }
                assert!(
                    !(line.contains(".service(") && line.contains("crate::routes::")),
                    "{}: registers another scope's handler: {line}",
                    file.display()
                );
            }
        }
        assert!(handlers.len() > 100, "the handlers were found");
        for (file, path) in &handlers {
            let scope = scope_of(file);
            if OUTSIDE.contains(&scope.as_str()) {
                continue;
            }
            let segments = declared.get(&scope).cloned().unwrap_or_default();
            assert_eq!(
                segments.len(),
                1,
                "scope `{scope}` declares exactly one segment, not {segments:?}"
            );
            assert_eq!(
                first_segment(path),
                segments[0],
                "{}: `{path}` is not under the file's segment",
                file.display()
            );
        }
    }
}
