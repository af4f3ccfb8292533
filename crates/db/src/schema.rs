// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, Debug, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    ai_settings (tenant_id) {
        tenant_id -> Uuid,
        monthly_token_budget -> Nullable<Int8>,
        questions_per_day -> Int4,
        mentor_open_limit -> Int4,
        reassign_after_minutes -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    ai_usage (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        feature -> Text,
        user_id -> Nullable<Uuid>,
        model -> Text,
        input_tokens -> Int8,
        output_tokens -> Int8,
        latency_ms -> Int4,
        outcome -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    announcement_recipients (tenant_id, announcement_id, user_id) {
        tenant_id -> Uuid,
        announcement_id -> Uuid,
        user_id -> Uuid,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    announcements (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        author_id -> Uuid,
        title -> Text,
        body -> Text,
        audience -> Text,
        group_ids -> Array<Uuid>,
        module_id -> Nullable<Uuid>,
        pinned_until -> Nullable<Timestamptz>,
        recipient_count -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        created_by -> Uuid,
        permissions -> Array<Text>,
        key_hash -> Bytea,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        act_as_member -> Bool,
    }
}

diesel::table! {
    assignment_cycles (tenant_id, user_id, module_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        started_at -> Timestamptz,
    }
}

diesel::table! {
    assignment_files (tenant_id, asset_id) {
        tenant_id -> Uuid,
        asset_id -> Uuid,
        assignment_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    assignment_submissions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        assignment_id -> Uuid,
        user_id -> Uuid,
        number -> Int4,
        text_answer -> Nullable<Text>,
        asset_ids -> Array<Uuid>,
        submitted_at -> Timestamptz,
        late -> Bool,
        status -> Text,
        superseded -> Bool,
        score -> Nullable<Float8>,
        rubric_selection -> Nullable<Jsonb>,
        feedback -> Nullable<Text>,
        graded_by -> Nullable<Uuid>,
        graded_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    assignments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        module_id -> Uuid,
        section_id -> Nullable<Uuid>,
        title -> Text,
        brief_html -> Text,
        due_at -> Nullable<Timestamptz>,
        max_score -> Int4,
        submission_format -> Text,
        allowed_file_types -> Array<Text>,
        max_file_bytes -> Int8,
        allow_late -> Bool,
        required -> Bool,
        rubric -> Nullable<Jsonb>,
        created_by -> Uuid,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        actor_id -> Nullable<Uuid>,
        impersonated_by -> Nullable<Uuid>,
        api_key_id -> Nullable<Uuid>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        metadata -> Jsonb,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_feeds (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        last_read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    catalog_stamps (tenant_id) {
        tenant_id -> Uuid,
        stamp -> Int8,
    }
}

diesel::table! {
    certificates (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        code -> Text,
        user_id -> Uuid,
        module_id -> Nullable<Uuid>,
        completion_id -> Nullable<Uuid>,
        holder_name -> Text,
        module_title -> Text,
        issued_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        revoked_by -> Nullable<Uuid>,
        renews_certificate_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    changelog_entries (id) {
        id -> Uuid,
        version -> Text,
        title -> Text,
        summary -> Text,
        date -> Date,
        published_by -> Nullable<Uuid>,
        published_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    changelog_reads (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        seen_until -> Timestamptz,
    }
}

diesel::table! {
    chat_confirmed_answers (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        module_id -> Uuid,
        room_id -> Uuid,
        question_id -> Uuid,
        answer_id -> Uuid,
        confirmed_by -> Uuid,
        confirmed_at -> Timestamptz,
    }
}

diesel::table! {
    chat_message_edits (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        message_id -> Uuid,
        body -> Text,
        edited_at -> Timestamptz,
    }
}

diesel::table! {
    chat_messages (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        room_id -> Uuid,
        seq -> Int8,
        kind -> Text,
        author_id -> Nullable<Uuid>,
        body -> Text,
        mentions -> Array<Uuid>,
        attachments -> Array<Uuid>,
        reply_to -> Nullable<Uuid>,
        confirmed_by -> Nullable<Uuid>,
        confirmed_at -> Nullable<Timestamptz>,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        deleted_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    chat_read_markers (tenant_id, user_id, room_id) {
        tenant_id -> Uuid,
        room_id -> Uuid,
        user_id -> Uuid,
        last_read_seq -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    chat_rooms (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        kind -> Text,
        module_id -> Nullable<Uuid>,
        member_a -> Nullable<Uuid>,
        member_b -> Nullable<Uuid>,
        last_seq -> Int8,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    coaching_action_items (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        coachee_id -> Uuid,
        owner_id -> Uuid,
        created_by -> Uuid,
        session_id -> Nullable<Uuid>,
        title -> Text,
        description -> Text,
        due_date -> Nullable<Date>,
        status -> Text,
        module_id -> Nullable<Uuid>,
        path_id -> Nullable<Uuid>,
        closed_at -> Nullable<Timestamptz>,
        closed_by_completion -> Bool,
        overdue_notified_for -> Nullable<Date>,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    coaching_quick_notes (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        coach_id -> Uuid,
        coachee_id -> Uuid,
        body_sealed -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    coaching_relationships (tenant_id, coachee_id, coach_id) {
        tenant_id -> Uuid,
        coachee_id -> Uuid,
        coach_id -> Uuid,
        created_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    coaching_session_scores (tenant_id, session_id, focus_area) {
        tenant_id -> Uuid,
        session_id -> Uuid,
        focus_area -> Text,
        position -> Int4,
        score_before -> Nullable<Numeric>,
        score_after -> Nullable<Numeric>,
    }
}

diesel::table! {
    coaching_sessions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        coach_id -> Uuid,
        coachee_id -> Uuid,
        scheduled_at -> Timestamptz,
        duration_minutes -> Int4,
        status -> Text,
        agenda -> Text,
        shared_notes -> Text,
        private_notes_sealed -> Nullable<Text>,
        revision -> Int4,
        reminder_sent_for -> Nullable<Timestamptz>,
        status_changed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    coaching_settings (tenant_id) {
        tenant_id -> Uuid,
        scale_min -> Numeric,
        scale_max -> Numeric,
        updated_by -> Uuid,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    company_pinned_modules (tenant_id, module_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        pinned_by -> Uuid,
        pinned_at -> Timestamptz,
    }
}

diesel::table! {
    compliance_notices (tenant_id, certificate_id, kind) {
        tenant_id -> Uuid,
        certificate_id -> Uuid,
        kind -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    deadline_reminders (tenant_id, user_id, module_id, kind, due_at) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        kind -> Text,
        due_at -> Timestamptz,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    dev_mailbox (id) {
        id -> Uuid,
        to_address -> Text,
        subject -> Text,
        text_body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    discussion_follows (tenant_id, thread_id, user_id) {
        tenant_id -> Uuid,
        thread_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    discussion_posts (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        thread_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        author_id -> Uuid,
        body -> Text,
        mentions -> Array<Uuid>,
        hidden_at -> Nullable<Timestamptz>,
        hidden_by -> Nullable<Uuid>,
        hidden_reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    discussion_threads (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        module_id -> Uuid,
        section_id -> Nullable<Uuid>,
        author_id -> Uuid,
        title -> Text,
        pinned -> Bool,
        locked -> Bool,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Uuid>,
        last_post_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    email_preferences (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        new_modules -> Bool,
        deadline_reminders -> Bool,
        quiz_results -> Bool,
        comment_replies -> Bool,
        certificates -> Bool,
        rewards -> Bool,
        digest -> Text,
        updated_at -> Timestamptz,
        type_overrides -> Jsonb,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Uuid,
        kind -> Text,
        user_id -> Uuid,
        invite_tenant_id -> Nullable<Uuid>,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    enrolments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        module_id -> Nullable<Uuid>,
        path_id -> Nullable<Uuid>,
        enrolled_at -> Timestamptz,
    }
}

diesel::table! {
    feed_posts (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        author_id -> Uuid,
        url -> Text,
        description -> Text,
        tags -> Array<Text>,
        status -> Text,
        reject_reason -> Nullable<Text>,
        moderated_by -> Nullable<Uuid>,
        moderated_at -> Nullable<Timestamptz>,
        pinned -> Bool,
        preview_status -> Text,
        preview_title -> Nullable<Text>,
        preview_description -> Nullable<Text>,
        preview_image_id -> Nullable<Uuid>,
        save_count -> Int4,
        reply_count -> Int4,
        created_at -> Timestamptz,
        approved_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    feed_replies (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        post_id -> Uuid,
        author_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    feed_saves (tenant_id, user_id, post_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        post_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    feed_seen (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        seen_until -> Timestamptz,
    }
}

diesel::table! {
    gamification_settings (tenant_id) {
        tenant_id -> Uuid,
        xp_module_completed -> Int4,
        xp_quiz_high_score -> Int4,
        xp_mentor_confirmation -> Int4,
        xp_top_suggestion -> Int4,
        xp_compliance_renewal -> Int4,
        xp_event_attended -> Int4,
        rank_pomocnik -> Int4,
        rank_mojster -> Int4,
        rank_mentor -> Int4,
        leaderboard_opt_out_allowed -> Bool,
        updated_at -> Timestamptz,
        xp_path_completed -> Int4,
    }
}

diesel::table! {
    groups (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        color -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, user_id, key) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        key -> Text,
        fingerprint -> Text,
        response_status -> Int4,
        response_body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    invitation_quota (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Date,
        sent -> Int4,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        available_at -> Timestamptz,
        last_error -> Nullable<Text>,
        result -> Nullable<Jsonb>,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    last_sections (tenant_id, user_id, module_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        section_id -> Uuid,
        opened_at -> Timestamptz,
    }
}

diesel::table! {
    learning_path_groups (tenant_id, path_id, group_id) {
        tenant_id -> Uuid,
        path_id -> Uuid,
        group_id -> Uuid,
        deadline_days -> Nullable<Int4>,
        is_mandatory -> Bool,
        assigned_by -> Uuid,
        assigned_at -> Timestamptz,
    }
}

diesel::table! {
    learning_path_modules (tenant_id, path_id, module_id) {
        tenant_id -> Uuid,
        path_id -> Uuid,
        module_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    learning_paths (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Text,
        cover_asset_id -> Nullable<Uuid>,
        strict_order -> Bool,
        validity_months -> Nullable<Int4>,
        status -> Text,
        revision -> Int4,
        created_by -> Uuid,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    live_event_groups (tenant_id, event_id, group_id) {
        tenant_id -> Uuid,
        event_id -> Uuid,
        group_id -> Uuid,
    }
}

diesel::table! {
    live_event_hosts (tenant_id, event_id, user_id) {
        tenant_id -> Uuid,
        event_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    live_event_materials (tenant_id, event_id, asset_id) {
        tenant_id -> Uuid,
        event_id -> Uuid,
        asset_id -> Uuid,
        added_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    live_event_registrations (tenant_id, event_id, user_id) {
        tenant_id -> Uuid,
        event_id -> Uuid,
        user_id -> Uuid,
        status -> Text,
        position -> Int8,
        added_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        promoted_at -> Nullable<Timestamptz>,
        attended_at -> Nullable<Timestamptz>,
        confirmed_by -> Nullable<Uuid>,
        link_used_at -> Nullable<Timestamptz>,
        reminded_day_for -> Nullable<Timestamptz>,
        reminded_hour_for -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    live_events (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Text,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        time_zone -> Text,
        location_type -> Text,
        meeting_url -> Nullable<Text>,
        address -> Nullable<Text>,
        capacity -> Int4,
        module_id -> Nullable<Uuid>,
        required -> Bool,
        status -> Text,
        status_changed_at -> Nullable<Timestamptz>,
        revision -> Int4,
        registered_count -> Int4,
        next_position -> Int8,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    manager_dashboard_settings (tenant_id) {
        tenant_id -> Uuid,
        inactive_days -> Int4,
        failed_attempts -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    media_assets (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        kind -> Text,
        status -> Text,
        title -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        blob_key -> Text,
        failure_reason -> Nullable<Text>,
        uploaded_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        upload_expires_at -> Nullable<Timestamptz>,
        submission_file -> Bool,
    }
}

diesel::table! {
    member_jobs (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        api_key_id -> Nullable<Uuid>,
        kind -> Text,
        state -> Text,
        progress -> Int4,
        message -> Text,
        result -> Nullable<Jsonb>,
        result_blob -> Nullable<Text>,
        problem -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    member_stream_events (tenant_id, user_id, seq) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        seq -> Int8,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    member_stream_heads (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        last_seq -> Int8,
    }
}

diesel::table! {
    memberships (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        manager_id -> Nullable<Uuid>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        invited_name -> Nullable<Text>,
        removed_at -> Nullable<Timestamptz>,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    mentor_away (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        away_from -> Timestamptz,
        away_until -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    module_build_citations (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        build_id -> Uuid,
        module_id -> Uuid,
        section_id -> Nullable<Uuid>,
        question_id -> Nullable<Uuid>,
        kind -> Text,
        span_start -> Int4,
        span_end -> Int4,
        excerpt -> Text,
        position -> Int4,
    }
}

diesel::table! {
    module_builds (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        asset_id -> Nullable<Uuid>,
        job_id -> Uuid,
        language -> Nullable<Text>,
        hints -> Nullable<Text>,
        status -> Text,
        source_kind -> Nullable<Text>,
        extracted -> Nullable<Jsonb>,
        extracted_chars -> Int4,
        summary -> Nullable<Text>,
        method -> Nullable<Text>,
        module_id -> Nullable<Uuid>,
        problem -> Nullable<Jsonb>,
        attempts -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    module_categories (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        sort_order -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    module_changelog (tenant_id, module_id, version) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        version -> Int4,
        summary -> Text,
        kind -> Text,
        published_by -> Uuid,
        published_at -> Timestamptz,
    }
}

diesel::table! {
    module_completions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        completed_at -> Timestamptz,
        source -> Text,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    module_groups (tenant_id, module_id, group_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        group_id -> Uuid,
        deadline_days -> Nullable<Int4>,
        is_mandatory -> Bool,
        assigned_at -> Timestamptz,
        assigned_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    module_mentors (tenant_id, module_id, user_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    module_prerequisites (tenant_id, module_id, prerequisite_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        prerequisite_id -> Uuid,
    }
}

diesel::table! {
    module_self_assessments (tenant_id, user_id, module_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        rating -> Int4,
        note -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    module_tags (tenant_id, module_id, tag_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        tag_id -> Uuid,
    }
}

diesel::table! {
    modules (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Text,
        status -> Text,
        difficulty -> Text,
        cover_image_url -> Nullable<Text>,
        category_id -> Nullable<Uuid>,
        estimated_minutes -> Nullable<Int4>,
        validity_months -> Nullable<Int4>,
        created_by -> Uuid,
        revision -> Int4,
        published_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        content_changed_at -> Timestamptz,
    }
}

diesel::table! {
    notification_digests (tenant_id, user_id, frequency, period_end) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        frequency -> Text,
        period_end -> Timestamptz,
        notifications -> Int4,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    notification_templates (tenant_id, kind, locale) {
        tenant_id -> Uuid,
        kind -> Text,
        locale -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Nullable<Text>,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        title -> Text,
        body -> Text,
        entity_kind -> Nullable<Text>,
        entity_id -> Nullable<Uuid>,
        dedup_key -> Text,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
        data -> Jsonb,
        email_status -> Nullable<Text>,
        emailed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        available_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    path_certificates (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        code -> Text,
        user_id -> Uuid,
        path_id -> Uuid,
        completion_id -> Uuid,
        holder_name -> Text,
        path_title -> Text,
        issued_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        renews_certificate_id -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        revoked_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    path_completions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        path_id -> Uuid,
        completed_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    presence_preferences (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        hidden -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    presence_settings (tenant_id) {
        tenant_id -> Uuid,
        enabled -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    progress_overrides (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        action -> Text,
        reason -> Text,
        allow_certificate -> Bool,
        created_by -> Uuid,
        created_at -> Timestamptz,
        completion_id -> Nullable<Uuid>,
        certificate_id -> Nullable<Uuid>,
        archived_at -> Nullable<Timestamptz>,
        reverted_at -> Nullable<Timestamptz>,
        reverted_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    question_bank_questions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        bank_id -> Uuid,
        kind -> Text,
        prompt -> Text,
        options -> Jsonb,
        accepted_answers -> Array<Text>,
        points -> Int4,
        explanation -> Nullable<Text>,
        tags -> Array<Text>,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    question_banks (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        description -> Text,
        created_by -> Uuid,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    question_email_replies (tenant_id, message_key) {
        tenant_id -> Uuid,
        message_key -> Text,
        question_id -> Uuid,
        user_id -> Uuid,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    question_turns (tenant_id, module_id, user_id) {
        tenant_id -> Uuid,
        module_id -> Uuid,
        user_id -> Uuid,
        last_turn -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    questions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        asker_id -> Uuid,
        module_id -> Nullable<Uuid>,
        body -> Text,
        status -> Text,
        answer_html -> Text,
        answer_source -> Text,
        citations -> Jsonb,
        assignee_id -> Nullable<Uuid>,
        assigned_at -> Nullable<Timestamptz>,
        claimed_at -> Nullable<Timestamptz>,
        escalated_at -> Nullable<Timestamptz>,
        mentor_answer -> Nullable<Text>,
        answered_by -> Nullable<Uuid>,
        answered_at -> Nullable<Timestamptz>,
        accepted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    quiz_attempts (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        quiz_id -> Uuid,
        user_id -> Uuid,
        number -> Int4,
        status -> Text,
        started_at -> Timestamptz,
        deadline_at -> Nullable<Timestamptz>,
        submitted_at -> Nullable<Timestamptz>,
        score_points -> Nullable<Float8>,
        max_points -> Nullable<Int4>,
        score_percent -> Nullable<Float8>,
        passed -> Nullable<Bool>,
        question_order -> Jsonb,
        answers -> Nullable<Jsonb>,
        results -> Nullable<Jsonb>,
        archived_at -> Nullable<Timestamptz>,
        questions -> Jsonb,
    }
}

diesel::table! {
    quiz_bank_draws (tenant_id, quiz_id, position) {
        tenant_id -> Uuid,
        quiz_id -> Uuid,
        position -> Int4,
        bank_id -> Uuid,
        question_count -> Int4,
        tags -> Array<Text>,
    }
}

diesel::table! {
    quiz_questions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        quiz_id -> Uuid,
        kind -> Text,
        prompt -> Text,
        options -> Jsonb,
        accepted_answers -> Array<Text>,
        points -> Int4,
        explanation -> Nullable<Text>,
        sort_order -> Int4,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    quizzes (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        module_id -> Uuid,
        title -> Text,
        description -> Text,
        passing_score_percent -> Int4,
        max_attempts -> Nullable<Int4>,
        time_limit_seconds -> Nullable<Int4>,
        shuffle_questions -> Bool,
        shuffle_options -> Bool,
        show_answers -> Text,
        multiple_choice_scoring -> Text,
        created_by -> Uuid,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reaction_counts (tenant_id, target_kind, target_id, emoji) {
        tenant_id -> Uuid,
        target_kind -> Text,
        target_id -> Uuid,
        emoji -> Text,
        total -> Int4,
    }
}

diesel::table! {
    reactions (tenant_id, target_kind, target_id, emoji, user_id) {
        tenant_id -> Uuid,
        target_kind -> Text,
        target_id -> Uuid,
        emoji -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        active_tenant_id -> Nullable<Uuid>,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reward_redemptions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        reward_id -> Uuid,
        user_id -> Uuid,
        cost_xp -> Int4,
        status -> Text,
        reason -> Nullable<Text>,
        reviewed_by -> Nullable<Uuid>,
        reviewed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rewards (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        title -> Text,
        description -> Text,
        image_url -> Nullable<Text>,
        cost_xp -> Int4,
        stock -> Nullable<Int4>,
        monthly_limit -> Nullable<Int4>,
        approval_required -> Bool,
        active -> Bool,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    section_attachments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        section_id -> Uuid,
        asset_id -> Uuid,
        title -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    section_bookmarks (tenant_id, user_id, section_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        section_id -> Uuid,
        module_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    section_completions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        section_id -> Uuid,
        completed_at -> Timestamptz,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    section_notes (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        section_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    sections (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        module_id -> Uuid,
        title -> Text,
        kind -> Text,
        content_html -> Text,
        video_source -> Nullable<Text>,
        video_ref -> Nullable<Text>,
        sort_order -> Int4,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        video_asset_id -> Nullable<Uuid>,
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    sso_logins (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        state_hash -> Text,
        nonce -> Text,
        pkce_verifier_sealed -> Text,
        redirect_uri -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    sso_settings (tenant_id) {
        tenant_id -> Uuid,
        issuer -> Text,
        client_id -> Text,
        client_secret_sealed -> Text,
        client_secret_key_id -> Text,
        allowed_domains -> Array<Text>,
        default_role -> Text,
        groups_claim -> Nullable<Text>,
        sso_only -> Bool,
        enabled -> Bool,
        revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    stream_tickets (tenant_id, token_hash) {
        tenant_id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        session_generation -> Int4,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    suggestion_comments (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        suggestion_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        author_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        deleted_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    suggestion_settings (tenant_id) {
        tenant_id -> Uuid,
        popularity_threshold -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    suggestion_votes (tenant_id, suggestion_id, user_id) {
        tenant_id -> Uuid,
        suggestion_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    suggestions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        author_id -> Uuid,
        anonymous -> Bool,
        title -> Text,
        description -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamptz>,
        status_changed_by -> Nullable<Uuid>,
        vote_count -> Int4,
        popular_at -> Nullable<Timestamptz>,
        module_id -> Nullable<Uuid>,
        knowledge_notified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tags (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        plan -> Text,
        locale -> Text,
        theme -> Text,
        archived_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        catalog_open -> Bool,
        video_completion_percent -> Int4,
    }
}

diesel::table! {
    usage_sessions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        started_at -> Timestamptz,
        last_ping_at -> Timestamptz,
        latest -> Bool,
    }
}

diesel::table! {
    user_groups (tenant_id, group_id, user_id) {
        tenant_id -> Uuid,
        group_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_module_access (tenant_id, user_id, module_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        last_accessed_at -> Timestamptz,
        seen_version -> Int4,
        acknowledged_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    user_permissions (tenant_id, user_id, permission) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        permission -> Text,
        scope -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_pinned_modules (tenant_id, user_id, module_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        module_id -> Uuid,
        pinned_at -> Timestamptz,
    }
}

diesel::table! {
    user_xp_balances (tenant_id, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        lifetime_xp -> Int4,
        total_xp -> Int4,
        held_xp -> Int4,
        rank -> Text,
        leaderboard_hidden -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        global_role -> Text,
        password_changed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_verified_at -> Nullable<Timestamptz>,
        session_generation -> Int4,
        erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    video_progress (tenant_id, id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        section_id -> Uuid,
        module_id -> Uuid,
        duration_seconds -> Float8,
        watched -> Jsonb,
        watched_seconds -> Float8,
        position_seconds -> Float8,
        updated_at -> Timestamptz,
        id -> Uuid,
        archived_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        latency_ms -> Int4,
        response_excerpt -> Text,
        error -> Nullable<Text>,
        succeeded -> Bool,
    }
}

diesel::table! {
    webhook_deliveries (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        endpoint_id -> Uuid,
        event_type -> Text,
        source_event_id -> Nullable<Uuid>,
        payload -> Jsonb,
        status -> Text,
        attempt_count -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamptz>,
        secret_sealed -> Text,
        previous_secret_sealed -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamptz>,
        consecutive_dead -> Int4,
        revision -> Int4,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    xp_period_totals (tenant_id, period, period_start, user_id) {
        tenant_id -> Uuid,
        user_id -> Uuid,
        period -> Text,
        period_start -> Timestamptz,
        xp -> Int4,
    }
}

diesel::table! {
    xp_transactions (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        amount -> Int4,
        source -> Text,
        source_entity_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    ai_settings,
    ai_usage,
    announcement_recipients,
    announcements,
    api_keys,
    assignment_cycles,
    assignment_files,
    assignment_submissions,
    assignments,
    audit_log,
    calendar_feeds,
    catalog_stamps,
    certificates,
    changelog_entries,
    changelog_reads,
    chat_confirmed_answers,
    chat_message_edits,
    chat_messages,
    chat_read_markers,
    chat_rooms,
    coaching_action_items,
    coaching_quick_notes,
    coaching_relationships,
    coaching_session_scores,
    coaching_sessions,
    coaching_settings,
    company_pinned_modules,
    compliance_notices,
    deadline_reminders,
    dev_mailbox,
    discussion_follows,
    discussion_posts,
    discussion_threads,
    email_preferences,
    email_tokens,
    enrolments,
    feed_posts,
    feed_replies,
    feed_saves,
    feed_seen,
    gamification_settings,
    groups,
    idempotency_keys,
    invitation_quota,
    jobs,
    last_sections,
    learning_path_groups,
    learning_path_modules,
    learning_paths,
    live_event_groups,
    live_event_hosts,
    live_event_materials,
    live_event_registrations,
    live_events,
    manager_dashboard_settings,
    media_assets,
    member_jobs,
    member_stream_events,
    member_stream_heads,
    memberships,
    mentor_away,
    module_build_citations,
    module_builds,
    module_categories,
    module_changelog,
    module_completions,
    module_groups,
    module_mentors,
    module_prerequisites,
    module_self_assessments,
    module_tags,
    modules,
    notification_digests,
    notification_templates,
    notifications,
    outbox_events,
    path_certificates,
    path_completions,
    presence_preferences,
    presence_settings,
    progress_overrides,
    question_bank_questions,
    question_banks,
    question_email_replies,
    question_turns,
    questions,
    quiz_attempts,
    quiz_bank_draws,
    quiz_questions,
    quizzes,
    reaction_counts,
    reactions,
    refresh_tokens,
    reward_redemptions,
    rewards,
    section_attachments,
    section_bookmarks,
    section_completions,
    section_notes,
    sections,
    sso_logins,
    sso_settings,
    stream_tickets,
    suggestion_comments,
    suggestion_settings,
    suggestion_votes,
    suggestions,
    tags,
    tenants,
    usage_sessions,
    user_groups,
    user_module_access,
    user_permissions,
    user_pinned_modules,
    user_xp_balances,
    users,
    video_progress,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    xp_period_totals,
    xp_transactions,
);
