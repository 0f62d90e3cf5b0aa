//! The states stored as text columns, as enums: a token's kind, an
//! authorization session's status and how it answers. Each reads and writes
//! itself through diesel, so no other module compares strings.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// Stored names of a text-mapped enum.
trait StoredName: Sized + Copy + 'static {
    /// Every value, with its stored name.
    const ALL: &'static [(Self, &'static str)];
}

fn name_of<T: StoredName + PartialEq>(value: T) -> &'static str {
    T::ALL
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("", |(_, n)| n)
}

fn parse<T: StoredName>(name: &str) -> Option<T> {
    T::ALL.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

macro_rules! text_enum {
    ($ty:ident) => {
        impl $ty {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                name_of(self)
            }

            /// The value stored as `name`.
            pub fn from_stored(name: &str) -> Option<Self> {
                parse(name)
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $ty
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let name = String::from_sql(bytes)?;
                Self::from_stored(&name).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($ty), " {:?}"), name).into()
                })
            }
        }
    };
}

/// Whether a token belongs to a person or to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum TokenKind {
    /// A personal access token (`pat_`).
    Personal,
    /// A service token (`sat_`), owned by a group or service.
    Service,
}

impl StoredName for TokenKind {
    const ALL: &'static [(Self, &'static str)] =
        &[(Self::Personal, "personal"), (Self::Service, "service")];
}
text_enum!(TokenKind);

impl TokenKind {
    /// The token prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Personal => "pat",
            Self::Service => "sat",
        }
    }
}

/// Where an authorization session stands (RFC 6749 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum SessionStatus {
    /// Waiting for the person's answer.
    Pending,
    /// Approved: a code (or the device's answer) waits to be redeemed.
    Approved,
    /// Refused by the person.
    Denied,
    /// Redeemed: its token was issued.
    Used,
}

impl StoredName for SessionStatus {
    const ALL: &'static [(Self, &'static str)] = &[
        (Self::Pending, "pending"),
        (Self::Approved, "approved"),
        (Self::Denied, "denied"),
        (Self::Used, "used"),
    ];
}
text_enum!(SessionStatus);

/// How an authorization session answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum SessionMode {
    /// A code sent to the client's `redirect_uri` (RFC 6749 §4.1.2).
    Redirect,
    /// Picked up by a polling device (RFC 8628 §3.4).
    Device,
}

impl StoredName for SessionMode {
    const ALL: &'static [(Self, &'static str)] =
        &[(Self::Redirect, "redirect"), (Self::Device, "device")];
}
text_enum!(SessionMode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (v, n) in TokenKind::ALL {
            assert_eq!(TokenKind::from_stored(n), Some(*v));
            assert_eq!(v.as_str(), *n);
        }
        for (v, n) in SessionStatus::ALL {
            assert_eq!(SessionStatus::from_stored(n), Some(*v));
        }
        assert_eq!(
            SessionMode::from_stored("device"),
            Some(SessionMode::Device)
        );
        assert_eq!(TokenKind::from_stored("other"), None);
    }
}
