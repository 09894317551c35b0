//! One schema for both backends; the migrations under `migrations/{sqlite,postgres}` agree with it.

diesel::table! {
    accounts (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        name_key -> Text,
        password_hash -> Nullable<Text>,
        status -> Text,
        is_platform_admin -> Bool,
        must_change_password -> Bool,
        session_epoch -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        contact_email -> Text,
        contact_key -> Text,
        admin_email -> Text,
        quota_gb -> BigInt,
        seats -> Nullable<BigInt>,
        is_default -> Bool,
        member_count -> BigInt,
        quota_allocated_gb -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> BigInt,
        organization_id -> BigInt,
        account_id -> BigInt,
        status -> Text,
        is_delegate -> Bool,
        unsigned_containers -> Bool,
        release_protections -> Bool,
        recover -> Bool,
        no_second_factor -> Bool,
        quota_gb -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
        removed_by -> Nullable<BigInt>,
        plan_id -> Nullable<BigInt>,
        awaiting_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    plans (id) {
        id -> BigInt,
        organization_id -> BigInt,
        name -> Text,
        name_key -> Text,
        quota_gb -> BigInt,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    platform_properties (name) {
        name -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        scope -> Text,
        actor_id -> Nullable<BigInt>,
        actor_email -> Text,
        organization_id -> Nullable<BigInt>,
        organization_name -> Text,
        action -> Text,
        target -> Text,
        details -> Text,
        client_addr -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        message_id -> Text,
        kind -> Text,
        organization_id -> Nullable<BigInt>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        account_id -> BigInt,
        organization_id -> Nullable<BigInt>,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        resent_at -> Nullable<Timestamp>,
        activates_membership -> Bool,
    }
}

diesel::table! {
    removal_requests (organization_id) {
        organization_id -> BigInt,
        initiated_by -> BigInt,
        initiated_by_email -> Text,
        initiated_at -> Timestamp,
        actionable_at -> Timestamp,
        notified_contact -> Text,
    }
}

diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(memberships -> accounts (account_id));
diesel::joinable!(memberships -> plans (plan_id));
diesel::joinable!(plans -> organizations (organization_id));
diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    organizations,
    memberships,
    platform_properties,
    audit_events,
    platform_counters,
    outbox,
    invitations,
    removal_requests,
    plans
);

diesel::table! {
    platform_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        account_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        client_addr -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    sign_in_failures (account_id, client_addr) {
        account_id -> BigInt,
        client_addr -> Text,
        failures -> BigInt,
        locked_until -> Nullable<Timestamp>,
        last_failure_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(sessions, accounts);
diesel::allow_tables_to_appear_in_same_query!(sessions, memberships);

diesel::table! {
    spent_invitations (id) {
        id -> BigInt,
        token_hash -> Text,
        account_id -> BigInt,
        organization_id -> Nullable<BigInt>,
        reason -> Text,
        spent_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(spent_invitations, organizations);

diesel::table! {
    password_resets (id) {
        id -> BigInt,
        account_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(password_resets -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(password_resets, accounts);

diesel::table! {
    totp_secrets (id) {
        id -> BigInt,
        account_id -> BigInt,
        confirmed -> Bool,
        secret_sealed -> Text,
        last_step -> BigInt,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(totp_secrets -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(totp_secrets, accounts);

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        account_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(recovery_codes -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(recovery_codes, accounts);

diesel::table! {
    ldap_connections (id) {
        id -> BigInt,
        name -> Text,
        url -> Text,
        starttls -> Bool,
        bind_dn -> Text,
        bind_password_sealed -> Nullable<Text>,
        base_dn -> Text,
        user_filter -> Text,
        email_attr -> Text,
        name_attr -> Text,
        schedule_minutes -> Nullable<Integer>,
        new_entry_status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ldap_syncs (id) {
        id -> BigInt,
        connection_id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        lease_holder -> Text,
        lease_until -> Timestamp,
        status -> Text,
        entries_read -> BigInt,
        created -> BigInt,
        updated -> BigInt,
        removed -> BigInt,
        errors -> BigInt,
        last_error -> Text,
        error_list -> Text,
    }
}

diesel::table! {
    ldap_entries (connection_id, account_id) {
        connection_id -> BigInt,
        account_id -> BigInt,
        dn -> Text,
        seen_in_sync -> BigInt,
    }
}

diesel::joinable!(ldap_syncs -> ldap_connections (connection_id));
diesel::joinable!(ldap_entries -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(ldap_entries, accounts);
diesel::allow_tables_to_appear_in_same_query!(ldap_entries, memberships);
