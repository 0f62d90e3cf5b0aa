//! Templates of the token pages (settings and admin) and the display form
//! of tokens and audit events they show.

pub use super::event_line::EventLine;
use crate::oauth::consent::ScopeChoice;
use crate::store::models::TokenRecord;
use crate::tokens::status;
use crate::web::render::Nav;
use askama::Template;
use chrono::{DateTime, Utc};

/// A time as pages show it.
pub fn shown(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A token as a table row or detail page shows it (never its secret).
#[derive(Debug, Clone)]
pub struct TokenLine {
    /// Public id.
    pub id: String,
    /// `pat_<id>` / `sat_<id>`.
    pub prefix: String,
    /// Name.
    pub name: String,
    /// Owner (user or group/service).
    pub owner: String,
    /// `personal` or `service`.
    pub kind: &'static str,
    /// Description, or "".
    pub description: String,
    /// Scopes, comma-separated, or "—".
    pub scopes: String,
    /// The client it was issued to, or "—".
    pub client: String,
    /// Created.
    pub created: String,
    /// Expires, or "never".
    pub expires: String,
    /// Last used (time and address), or "never".
    pub last_used: String,
    /// Allowed networks, or "any".
    pub cidrs: String,
    /// `active`, `expiring`, `expired` or `revoked`.
    pub status: &'static str,
    /// Who revoked it, or "".
    pub revoked_by: String,
    /// Whether it can be used (active or expiring).
    pub usable: bool,
    /// Usable, but not used for `unused_after` (or ever, since that long ago).
    pub unused: bool,
    /// An SVG sparkline of its exchanges over 30 days, or "".
    pub sparkline: String,
}

impl TokenLine {
    /// Marks the line unused when `r` is usable and was last used (or
    /// created, if never used) more than `after` before `now`.
    pub fn flag_unused(
        mut self,
        r: &TokenRecord,
        now: DateTime<Utc>,
        after: chrono::Duration,
    ) -> Self {
        self.unused = self.usable && r.last_used_at.unwrap_or(r.created_at) + after < now;
        self
    }

    /// The display form of `r` at `now`.
    pub fn new(r: &TokenRecord, now: DateTime<Utc>) -> Self {
        let st = status(r, now);
        let none = |v: String| if v.is_empty() { "—".to_string() } else { v };
        TokenLine {
            id: r.id.clone(),
            prefix: crate::tokens::view::prefix_of(r),
            name: r.name.clone(),
            owner: r.owner.clone(),
            kind: r.kind.as_str(),
            description: r.description.clone().unwrap_or_default(),
            scopes: none(r.scopes.join(", ")),
            client: none(r.client_id.clone().unwrap_or_default()),
            created: shown(r.created_at),
            expires: r.expires_at.map_or("never".into(), shown),
            last_used: match (r.last_used_at, &r.last_used_ip) {
                (Some(t), Some(ip)) => format!("{} from {ip}", shown(t)),
                (Some(t), None) => shown(t),
                _ => "never".into(),
            },
            cidrs: if r.cidrs.is_empty() {
                "any".into()
            } else {
                r.cidrs.join(", ")
            },
            status: st.as_str(),
            revoked_by: r.revoked_by.clone().unwrap_or_default(),
            usable: st.is_usable(),
            unused: false,
            sparkline: String::new(),
        }
    }
}

/// `/settings/personal-tokens`.
#[derive(Template)]
#[template(path = "personal_tokens.html")]
pub struct PersonalTokensPage {
    /// Navigation.
    pub nav: Nav,
    /// One page of the person's tokens, newest first.
    pub tokens: Vec<TokenLine>,
    /// How many tokens they have in all.
    pub count: i64,
    /// The next (older) page, when there is one.
    pub next_url: Option<String>,
    /// Whether this is the first page (else a link back to it).
    pub first_page: bool,
    /// What just happened.
    pub notice: Option<String>,
}

/// A new or regenerated token, shown once.
#[derive(Template)]
#[template(path = "token_secret.html")]
pub struct TokenSecretPage {
    /// Navigation.
    pub nav: Nav,
    /// Heading.
    pub title: String,
    /// The token.
    pub token: TokenLine,
    /// The secret token to copy.
    pub raw: String,
    /// Extra line (the grace period of a regeneration).
    pub note: Option<String>,
    /// Where to go next.
    pub back: String,
}

/// "Are you sure?" before a revocation or regeneration.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    /// Navigation.
    pub nav: Nav,
    /// Heading.
    pub title: String,
    /// What will happen.
    pub text: String,
    /// Where the form posts.
    pub action: String,
    /// The button.
    pub button: String,
    /// Ask for a reason (admin revocation).
    pub ask_reason: bool,
    /// Grace-period choices (value, label) for a regeneration; empty: none.
    pub grace_choices: Vec<(String, String)>,
    /// Extra hidden fields.
    pub hidden: Vec<(String, String)>,
    /// The way back.
    pub back: String,
}

impl ConfirmPage {
    /// A confirmation titled `title` saying `text`, whose `button` posts to
    /// `action`, with a way `back`; no reason, grace choices or hidden fields.
    pub fn new(
        nav: Nav,
        title: String,
        text: &str,
        action: String,
        button: &str,
        back: &str,
    ) -> Self {
        ConfirmPage {
            nav,
            title,
            text: text.into(),
            action,
            button: button.into(),
            ask_reason: false,
            grace_choices: vec![],
            hidden: vec![],
            back: back.into(),
        }
    }
}

/// `/admin/access-tokens`.
#[derive(Template)]
#[template(path = "admin_tokens.html")]
pub struct AdminTokensPage {
    /// Navigation.
    pub nav: Nav,
    /// `service` or `personal`.
    pub view: String,
    /// May see service tokens.
    pub can_service: bool,
    /// May see users' tokens.
    pub can_users: bool,
    /// May create service tokens.
    pub can_create: bool,
    /// Status filter, or "".
    pub status: String,
    /// Owner (or user) filter, or "".
    pub owner: String,
    /// Name search, or "".
    pub q: String,
    /// This page of tokens.
    pub tokens: Vec<TokenLine>,
    /// The next page, if any.
    pub next_url: Option<String>,
    /// What just happened.
    pub notice: Option<String>,
}

/// The form that creates a service token.
#[derive(Template)]
#[template(path = "service_token_form.html")]
pub struct ServiceTokenForm {
    /// Navigation.
    pub nav: Nav,
    /// Name typed.
    pub name: String,
    /// Owning group or service typed.
    pub owner: String,
    /// Description typed.
    pub description: String,
    /// Scopes of the catalogue, with the chosen ones checked.
    pub scopes: Vec<ScopeChoice>,
    /// Expiry date chosen (YYYY-MM-DD), or "".
    pub expires: String,
    /// Latest allowed date, if the policy has one.
    pub max_date: Option<String>,
    /// Allowed networks typed, one per line or comma-separated.
    pub cidrs: String,
    /// What was wrong.
    pub error: Option<String>,
}

/// A user as `/admin/users` shows them.
#[derive(Debug)]
pub struct UserLine {
    /// Subject (`{provider}:{id}` for SSO users).
    pub subject: String,
    /// Provider id, or `local`.
    pub provider: String,
    /// Email, or "".
    pub email: String,
    /// Display name, or "".
    pub display_name: String,
    /// Upstream groups.
    pub groups: String,
    /// Roles held now.
    pub roles: String,
    /// Last sign-in.
    pub last_sign_in: String,
    /// Disabled.
    pub disabled: bool,
    /// Their tokens in the admin listing.
    pub tokens_url: String,
    /// The confirmation page of "Disable".
    pub disable_url: String,
}

/// `/admin/users`.
#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    /// Navigation.
    pub nav: Nav,
    /// Filter typed.
    pub q: String,
    /// One page of users.
    pub users: Vec<UserLine>,
    /// The next page, when there is one.
    pub next_url: Option<String>,
    /// What just happened.
    pub notice: Option<String>,
}

/// `/device`: type the code a device shows.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    /// Navigation.
    pub nav: Nav,
    /// The code typed or given in the link.
    pub user_code: String,
    /// What was wrong.
    pub error: Option<String>,
}

/// A token with its audit trail.
#[derive(Template)]
#[template(path = "token_detail.html")]
pub struct TokenDetailPage {
    /// Navigation.
    pub nav: Nav,
    /// The token.
    pub token: TokenLine,
    /// A page of its audit trail, newest first.
    pub events: Vec<EventLine>,
    /// The next (older) page, if any.
    pub next_url: Option<String>,
    /// May revoke it.
    pub can_revoke: bool,
    /// May restore it.
    pub can_restore: bool,
    /// SVG bar chart of exchanges and refusals per day, last 30 days.
    pub chart: String,
    /// Exchanges over those 30 days.
    pub exchanged_30d: i64,
    /// Refusals over those 30 days by reason.
    pub denials: Vec<(String, i64)>,
    /// What just happened.
    pub notice: Option<String>,
}
