//! `/admin/access-tokens/new` and `POST /admin/access-tokens`: the form that
//! creates a service token and shows the raw token once.

use super::page_access::{allowed, page_form, page_user, PageUser};
use super::pages::{html, page_url};
use super::views::{ServiceTokenForm, TokenLine, TokenSecretPage};
use super::{actor, blocking, form_field};
use crate::accounts::principal::Permission;
use crate::app::Services;
use crate::config::MaxTokenLifetime;
use crate::error::InternalError;
use crate::oauth::consent::ScopeChoice;
use crate::tokens::format::TokenKind;
use crate::tokens::{self, IssueOutcome, IssueRequest, RequestedLifetime};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;

/// The listing the form returns to.
const LIST: &str = "/admin/access-tokens";

fn blank_form(svc: &Services, user: &PageUser) -> ServiceTokenForm {
    ServiceTokenForm {
        nav: user.nav(),
        name: String::new(),
        owner: String::new(),
        description: String::new(),
        scopes: svc
            .config
            .scopes
            .iter()
            .map(|(name, description)| ScopeChoice {
                name: name.clone(),
                description: description.clone(),
                checked: false,
            })
            .collect(),
        expires: String::new(),
        max_date: match svc.config.token_max_ttl {
            MaxTokenLifetime::Limited(max) => {
                Some((svc.now() + max.duration()).format("%Y-%m-%d").to_string())
            }
            MaxTokenLifetime::Unlimited => None,
        },
        cidrs: String::new(),
        error: None,
    }
}

/// `GET /admin/access-tokens/new`.
pub async fn new_form(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::ServiceWrite]).await?);
    Ok(html(StatusCode::OK, blank_form(&svc, &user), &req))
}

/// `POST /admin/access-tokens`: creates a service token and shows it once;
/// on a mistake, the form again with the values and what was wrong.
pub async fn create(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[Permission::ServiceWrite]).await?);
    let mut form = blank_form(&svc, &user);
    form.name = form_field(&fields, "name").trim().to_string();
    form.owner = form_field(&fields, "owner").trim().to_string();
    form.description = form_field(&fields, "description").trim().to_string();
    form.expires = form_field(&fields, "expires").trim().to_string();
    form.cidrs = form_field(&fields, "cidrs");
    let chosen: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    for scope in &mut form.scopes {
        scope.checked = chosen.contains(&scope.name);
    }
    let lifetime = if form.expires.is_empty() {
        Ok(RequestedLifetime::Default)
    } else {
        NaiveDate::parse_from_str(&form.expires, "%Y-%m-%d")
            .map(|d| {
                RequestedLifetime::Until(d.and_hms_opt(23, 59, 59).expect("valid time").and_utc())
            })
            .map_err(|_| "enter the expiry date as YYYY-MM-DD".to_string())
    };
    let problem = match (
        &lifetime,
        chosen.iter().find(|s| !svc.config.scopes.contains_key(*s)),
    ) {
        (Err(why), _) => Some(why.clone()),
        (_, Some(bad)) => Some(format!("scope {bad:?} is not in the scope catalogue")),
        _ => None,
    };
    if let Some(why) = problem {
        form.error = Some(why);
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, form, &req));
    }
    let request = IssueRequest {
        kind: TokenKind::Service,
        owner: form.owner.clone(),
        name: form.name.clone(),
        description: Some(form.description.clone()).filter(|d| !d.is_empty()),
        scopes: chosen,
        is_admin: false,
        client_id: None,
        lifetime: lifetime.unwrap_or(RequestedLifetime::Default),
        cidrs: form
            .cidrs
            .split([',', ' ', '\n', '\r'])
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let (s, by) = (svc.clone(), actor(&req, &svc, &user.session.subject));
    let error = match blocking(move || tokens::issue(&s, request, &by)).await? {
        IssueOutcome::Issued(t) => {
            let page = TokenSecretPage {
                nav: user.nav(),
                title: "New service token".into(),
                token: TokenLine::new(&t.record, svc.now()),
                raw: t.raw.expose().to_string(),
                note: None,
                back: page_url(&svc, &format!("{LIST}/{}", t.record.id), &[]),
            };
            return Ok(html(StatusCode::CREATED, page, &req));
        }
        IssueOutcome::Invalid { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message),
        IssueOutcome::NameTaken => (
            StatusCode::CONFLICT,
            "this owner already has an active token with this name".into(),
        ),
    };
    form.error = Some(error.1);
    Ok(html(error.0, form, &req))
}
