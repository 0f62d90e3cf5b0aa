//! The policy's rules, one principal at a time.

use super::*;
use crate::config::{ADMIN_SCOPE, TOKENS_READ_SCOPE, TOKENS_WRITE_SCOPE};

fn config() -> Config {
    Config::from_table(toml::Table::new()).unwrap()
}

fn record(kind: TokenKind, owner: &str, scopes: &[&str]) -> TokenRecord {
    TokenRecord::sample(kind, owner, scopes)
}

fn own() -> BTreeSet<Permission> {
    Permission::OWN.into_iter().collect()
}

fn all() -> BTreeSet<Permission> {
    Permission::ALL.into_iter().collect()
}

fn via_token(subject: &str, held: BTreeSet<Permission>, scopes: &[&str]) -> Principal {
    let via = Via::AccessToken {
        token_id: "x".into(),
        client_id: None,
    };
    let scopes = scopes.iter().map(|s| s.to_string()).collect();
    Principal::with_token(
        subject,
        via,
        held,
        scopes,
        &config().access,
        Origin::default(),
    )
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_session_acts_with_its_owners_permissions() {
    let c = config();
    let p = Policy::of(&c);
    let alice = Principal::session("alice", own(), Origin::default());
    let mine = record(TokenKind::Personal, "alice", &["read"]);
    let bobs = record(TokenKind::Personal, "bob", &["read"]);
    assert!(p.check(&alice, Action::Rotate(&mine)).is_ok());
    assert_eq!(
        p.check(&alice, Action::Read(&bobs)),
        Err(Denied::Permission(Permission::UserAdmin))
    );
    let service = record(TokenKind::Service, "ci", &[]);
    assert_eq!(
        p.check(&alice, Action::Revoke(&service)),
        Err(Denied::Permission(Permission::ServiceRevoke))
    );
}

#[test]
fn a_token_may_do_only_what_its_scopes_grant() {
    let c = config();
    let p = Policy::of(&c);
    let read_only = via_token("alice", own(), &["read"]);
    let mine = record(TokenKind::Personal, "alice", &["read", "write"]);
    assert_eq!(
        p.check(&read_only, Action::Rotate(&mine)),
        Err(Denied::Scope {
            permission: Permission::UserWrite,
            scopes: strings(&[TOKENS_WRITE_SCOPE, ADMIN_SCOPE]),
        })
    );
    let writer = via_token("alice", own(), &["read", TOKENS_WRITE_SCOPE]);
    // It may not regenerate a token that carries more than itself.
    assert_eq!(
        p.check(&writer, Action::Rotate(&mine)),
        Err(Denied::Ceiling("write".into()))
    );
    let narrower = record(TokenKind::Personal, "alice", &["read"]);
    assert!(p.check(&writer, Action::Rotate(&narrower)).is_ok());
}

#[test]
fn an_admins_narrow_token_is_not_an_admin() {
    let c = config();
    let p = Policy::of(&c);
    let admin_read = via_token("admin", all(), &["read", TOKENS_READ_SCOPE]);
    let issue = Action::Issue {
        kind: TokenKind::Service,
        owner: "ci",
        scopes: &[],
    };
    assert!(matches!(
        p.check(&admin_read, issue),
        Err(Denied::Scope { .. })
    ));
    assert!(p.check(&admin_read, Action::RevokeAllOf("bob")).is_err());
    assert_eq!(
        p.check(&admin_read, Action::CompatAdmin),
        Err(Denied::NotCompatAdmin)
    );
    let full = via_token("admin", all(), &[ADMIN_SCOPE]);
    assert!(p.check(&full, issue).is_ok());
    assert!(p.check(&full, Action::CompatAdmin).is_ok());
}

#[test]
fn only_who_holds_what_a_scope_grants_may_give_it() {
    let c = config();
    let p = Policy::of(&c);
    let person = Principal::session("alice", own(), Origin::default());
    let admin_scope = strings(&[ADMIN_SCOPE]);
    assert_eq!(
        p.check(&person, Action::ApproveConsent(&admin_scope)),
        Err(Denied::Ceiling(ADMIN_SCOPE.into()))
    );
    assert!(p
        .check(
            &person,
            Action::ApproveConsent(&strings(&["read", TOKENS_READ_SCOPE]))
        )
        .is_ok());
    let admin = Principal::session("root", all(), Origin::default());
    assert!(p
        .check(&admin, Action::ApproveConsent(&admin_scope))
        .is_ok());
    let reader = Principal::session("ro", [Permission::UserRead].into(), Origin::default());
    assert_eq!(
        p.check(&reader, Action::ApproveConsent(&[])),
        Err(Denied::Permission(Permission::UserWrite))
    );
}

#[test]
fn compat_admins_administer_only_the_compatible_api() {
    let c = config();
    let p = Policy::of(&c);
    let via = Via::CompatToken {
        token_id: "x".into(),
        is_admin: true,
    };
    let flagged = Principal::with_token("ops", via, all(), vec![], &c.access, Origin::default());
    assert!(p.check(&flagged, Action::CompatAdmin).is_ok());
    assert!(p
        .check(&flagged, Action::CompatIssue(&strings(&["deploy"])))
        .is_ok());
    assert_eq!(
        p.check(&flagged, Action::CompatIssue(&strings(&[ADMIN_SCOPE]))),
        Err(Denied::Ceiling(ADMIN_SCOPE.into()))
    );
    assert!(p
        .check(&flagged, Action::ListAll(TokenKind::Service))
        .is_err());
}
