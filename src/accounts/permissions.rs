//! Permissions on access tokens and how roles and upstream groups grant them.

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

/// `[access]` in the configuration: what everyone may do, what each role
/// grants, and which roles an upstream group brings.
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
        }
    }
}

impl AccessConfig {
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
        toml::from_str(text).unwrap()
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
    }
}
