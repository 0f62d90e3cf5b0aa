//! The one diesel schema, shared by SQLite and PostgreSQL.

diesel::table! {
    access_tokens (id) {
        id -> Text,
        kind -> Text,
        owner -> Text,
        name -> Text,
        active_name -> Nullable<Text>,
        description -> Nullable<Text>,
        scopes -> Text,
        is_admin -> Bool,
        secret_hash -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        last_used_ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        public_jwk -> Text,
        private_key_sealed -> Binary,
        active -> Bool,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        publish_until -> Nullable<Timestamp>,
    }
}
