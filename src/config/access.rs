//! `[access]`: permissions on access tokens, how roles and upstream groups
//! grant them to people, and how the scopes of patgate's own API grant them
//! to tokens. What a caller may do is decided in [`crate::policy`].

use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

/// A permission on access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// `access-tokens:user:read`: see one's own tokens.
    UserRead,
    /// `access-tokens:user:write`: create and rotate one's own tokens.
    UserWrite,
    /// `access-tokens:user:revoke`: revoke one's own tokens.
    UserRevoke,
    /// `access-tokens:user:admin`: any user's tokens.
    UserAdmin,
    /// `access-tokens:service:read`.
    ServiceRead,
    /// `access-tokens:service:write`.
    ServiceWrite,
    /// `access-tokens:service:revoke`.
    ServiceRevoke,
}

impl Permission {
    /// Every permission (what the built-in `admin` role holds).
    pub const ALL: [Permission; 7] = [
        Permission::UserRead,
        Permission::UserWrite,
        Permission::UserRevoke,
        Permission::UserAdmin,
        Permission::ServiceRead,
        Permission::ServiceWrite,
        Permission::ServiceRevoke,
    ];

    /// What everyone holds unless the configuration says otherwise: their own tokens.
    pub const OWN: [Permission; 3] = [
        Permission::UserRead,
        Permission::UserWrite,
        Permission::UserRevoke,
    ];

    /// The name used in configuration and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::UserRead => "access-tokens:user:read",
            Permission::UserWrite => "access-tokens:user:write",
            Permission::UserRevoke => "access-tokens:user:revoke",
            Permission::UserAdmin => "access-tokens:user:admin",
            Permission::ServiceRead => "access-tokens:service:read",
            Permission::ServiceWrite => "access-tokens:service:write",
            Permission::ServiceRevoke => "access-tokens:service:revoke",
        }
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown permission {s:?}"))
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The role every permission belongs to; it cannot be redefined.
pub const ADMIN_ROLE: &str = "admin";

/// The scope that lists and reads one's tokens through patgate's API.
pub const TOKENS_READ_SCOPE: &str = "patgate:tokens:read";
/// The scope that creates and regenerates one's tokens through patgate's API.
pub const TOKENS_WRITE_SCOPE: &str = "patgate:tokens:write";
/// The scope that revokes one's tokens through patgate's API.
pub const TOKENS_REVOKE_SCOPE: &str = "patgate:tokens:revoke";
/// The scope that lets a token use its owner's administrative permissions.
pub const ADMIN_SCOPE: &str = "patgate:admin";

/// The built-in scopes of patgate's own API: name, permissions granted, and
/// the description the consent screen shows.
pub const BUILT_IN_API_SCOPES: [(&str, &[Permission], &str); 4] = [
    (
        TOKENS_READ_SCOPE,
        &[Permission::UserRead],
        "patgate: list and read your personal access tokens and their audit trail",
    ),
    (
        TOKENS_WRITE_SCOPE,
        &[Permission::UserWrite],
        "patgate: create and regenerate your personal access tokens",
    ),
    (
        TOKENS_REVOKE_SCOPE,
        &[Permission::UserRevoke],
        "patgate: revoke your personal access tokens",
    ),
    (
        ADMIN_SCOPE,
        &Permission::ALL,
        "patgate: act with your administrative permissions (admins only)",
    ),
];

/// `[access]` in the configuration: what everyone may do, what each role
/// grants, which roles an upstream group brings, and which permissions each
/// scope of patgate's own API grants a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Permissions of every signed-in person.
    #[serde(default = "own")]
    pub everyone: Vec<Permission>,
    /// Role name → permissions (`admin` is built in and holds them all).
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<Permission>>,
    /// Upstream group → roles it grants, re-read at every sign-in.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Scope of patgate's API → permissions it grants a token (RFC 6749
    /// §3.3); merged over [`BUILT_IN_API_SCOPES`].
    #[serde(default)]
    pub scopes: BTreeMap<String, Vec<Permission>>,
}

fn own() -> Vec<Permission> {
    Permission::OWN.to_vec()
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            everyone: own(),
            roles: BTreeMap::new(),
            groups: BTreeMap::new(),
            scopes: BTreeMap::new(),
        }
        .with_built_in_scopes()
    }
}

impl AccessConfig {
    /// Adds the built-in API scopes the configuration does not redefine.
    pub fn with_built_in_scopes(mut self) -> Self {
        for (name, grants, _) in BUILT_IN_API_SCOPES {
            self.scopes
                .entry(name.to_string())
                .or_insert_with(|| grants.to_vec());
        }
        self
    }

    /// The permissions API scope `scope` grants; `None` for other scopes.
    pub fn scope_grants(&self, scope: &str) -> Option<&[Permission]> {
        self.scopes.get(scope).map(Vec::as_slice)
    }

    /// Every permission the API scopes among `scopes` grant.
    pub fn granted_by(&self, scopes: &[String]) -> BTreeSet<Permission> {
        scopes
            .iter()
            .filter_map(|s| self.scope_grants(s))
            .flatten()
            .copied()
            .collect()
    }

    /// The API scopes that grant `p`, narrowest first (for RFC 6750 §3.1's `scope`).
    pub fn scopes_granting(&self, p: Permission) -> Vec<&str> {
        let mut found: Vec<(&str, usize)> = self
            .scopes
            .iter()
            .filter(|(_, grants)| grants.contains(&p))
            .map(|(name, grants)| (name.as_str(), grants.len()))
            .collect();
        found.sort_by_key(|(name, n)| (*n, *name));
        found.into_iter().map(|(name, _)| name).collect()
    }

    /// Whether `role` is `admin` or defined in `roles`.
    pub fn knows_role(&self, role: &str) -> bool {
        role == ADMIN_ROLE || self.roles.contains_key(role)
    }

    /// A problem with the mapping, if any: `admin` redefined or a group
    /// naming an unknown role.
    pub fn problem(&self) -> Option<String> {
        if self.roles.contains_key(ADMIN_ROLE) {
            return Some("the `admin` role is built in and cannot be redefined".into());
        }
        if let Some(bad) = self
            .scopes
            .keys()
            .find(|s| !crate::syntax::is_scope_token(s))
        {
            return Some(format!("{bad:?} is not a valid scope name (RFC 6749 §3.3)"));
        }
        if let Some((name, _)) = self.scopes.iter().find(|(_, grants)| grants.is_empty()) {
            return Some(format!("scope {name:?} grants no permission"));
        }
        self.groups.iter().find_map(|(group, roles)| {
            roles
                .iter()
                .find(|r| !self.knows_role(r))
                .map(|r| format!("group {group:?} maps to unknown role {r:?}"))
        })
    }

    /// The roles a user holds: those given directly and those their groups bring.
    pub fn roles_of(&self, direct: &[String], groups: &[String]) -> BTreeSet<String> {
        let mut roles: BTreeSet<String> = direct.iter().cloned().collect();
        for g in groups {
            roles.extend(self.groups.get(g).into_iter().flatten().cloned());
        }
        roles
    }

    /// The permissions `roles` grant on top of `everyone`.
    pub fn permissions_of(&self, roles: &BTreeSet<String>) -> BTreeSet<Permission> {
        let mut granted: BTreeSet<Permission> = self.everyone.iter().copied().collect();
        for role in roles {
            if role == ADMIN_ROLE {
                granted.extend(Permission::ALL);
            } else {
                granted.extend(self.roles.get(role).into_iter().flatten().copied());
            }
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AccessConfig {
        let text = r#"
            everyone = ["access-tokens:user:read"]
            [roles]
            auditor = ["access-tokens:service:read", "access-tokens:user:admin"]
            [groups]
            "platform" = ["admin"]
            "security" = ["auditor"]
        "#;
        toml::from_str::<AccessConfig>(text)
            .unwrap()
            .with_built_in_scopes()
    }

    #[test]
    fn roles_and_groups_grant_permissions() {
        let c = config();
        assert_eq!(c.problem(), None);
        let none = c.permissions_of(&c.roles_of(&[], &[]));
        assert_eq!(none, BTreeSet::from([Permission::UserRead]));
        let auditor = c.permissions_of(&c.roles_of(&[], &["security".into()]));
        assert!(auditor.contains(&Permission::ServiceRead));
        assert!(!auditor.contains(&Permission::ServiceWrite));
        let admin = c.permissions_of(&c.roles_of(&[], &["platform".into()]));
        assert_eq!(admin.len(), Permission::ALL.len());
        let direct = c.permissions_of(&c.roles_of(&["auditor".into()], &[]));
        assert!(direct.contains(&Permission::UserAdmin));
    }

    #[test]
    fn bad_mappings_are_named() {
        let bad: Result<AccessConfig, _> = toml::from_str(r#"everyone = ["tokens:all"]"#);
        assert!(bad.unwrap_err().to_string().contains("unknown permission"));
        let mut c = config();
        c.groups.insert("x".into(), vec!["ghost".into()]);
        assert!(c.problem().unwrap().contains("ghost"));
        let mut c = config();
        c.roles.insert("admin".into(), vec![]);
        assert!(c.problem().unwrap().contains("built in"));
        let mut c = config();
        c.scopes
            .insert("bad scope".into(), vec![Permission::UserRead]);
        assert!(c.problem().unwrap().contains("not a valid scope"));
    }

    #[test]
    fn api_scopes_grant_permissions() {
        let c = AccessConfig::default();
        let granted = c.granted_by(&["read".into(), TOKENS_READ_SCOPE.into()]);
        assert_eq!(granted, BTreeSet::from([Permission::UserRead]));
        assert_eq!(
            c.granted_by(&[ADMIN_SCOPE.into()]).len(),
            Permission::ALL.len()
        );
        assert_eq!(
            c.scopes_granting(Permission::UserWrite),
            vec![TOKENS_WRITE_SCOPE, ADMIN_SCOPE]
        );
        assert_eq!(
            c.scopes_granting(Permission::ServiceRead),
            vec![ADMIN_SCOPE]
        );
    }
}
