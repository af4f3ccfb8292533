//! `/v1/me`: the signed-in member's own things, one module per sub-resource.

use utoipa_actix_web::service_config::ServiceConfig;

use crate::routes::segment;

pub mod account;
pub mod away;
pub mod calendar_feed;
pub mod certificates;
pub mod dashboard;
pub mod data_export;
pub mod email_preferences;
pub mod invitations;
pub mod jobs;
pub mod leaderboard;
pub mod learning;
pub mod notes;
pub mod notifications;
pub mod presence;
pub mod recommendations;
pub mod redemptions;
pub mod saved;
pub mod sessions;
pub mod xp;

/// Registers `/v1/me`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/me")
            .service(account::get_me)
            .service(account::change_password)
            .service(account::request_email_verification)
            .service(invitations::list_my_invitations)
            .service(invitations::accept_my_invitation)
            .service(invitations::decline_my_invitation)
            .service(email_preferences::get_email_preferences)
            .service(email_preferences::update_email_preferences)
            .service(dashboard::get_my_dashboard)
            .service(certificates::list_my_certificates)
            .service(learning::get_my_learning)
            .service(xp::get_my_xp)
            .service(xp::list_my_xp_transactions)
            .service(leaderboard::set_leaderboard_visibility)
            .service(redemptions::list_my_redemptions)
            .service(notifications::list_my_notifications)
            .service(notifications::get_my_unread_notification_count)
            .service(notifications::mark_all_notifications_read)
            .service(notifications::mark_notification_read)
            .service(notifications::archive_notification)
            .service(jobs::list_my_jobs)
            .service(saved::list_my_saved_feed_posts)
            .service(notes::create_my_note)
            .service(notes::list_my_notes)
            .service(notes::get_my_note)
            .service(notes::update_my_note)
            .service(notes::delete_my_note)
            .service(notes::list_my_bookmarks)
            .service(notes::add_my_bookmark)
            .service(notes::remove_my_bookmark)
            .service(presence::get_presence_visibility)
            .service(presence::set_presence_visibility)
            .service(sessions::list_my_sessions)
            .service(calendar_feed::get_my_calendar_feed)
            .service(calendar_feed::create_my_calendar_feed)
            .service(calendar_feed::revoke_my_calendar_feed)
            .service(away::get_my_away)
            .service(away::set_my_away)
            .service(away::delete_my_away)
            .service(data_export::export_my_data)
            .service(recommendations::list_my_recommendations),
    );
}
