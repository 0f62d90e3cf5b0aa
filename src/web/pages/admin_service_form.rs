//! `/admin/access-tokens/new` and `POST /admin/access-tokens`: the form that
//! creates a service token and shows the raw token once.

use super::views::{ServiceTokenForm, TokenLine, TokenSecretPage};
use super::{html, page_url};
use crate::app::Services;
use crate::config::MaxTokenLifetime;
use crate::error::{Conflict, OpError};
use crate::oauth::consent::ScopeChoice;
use crate::policy::{Action, Policy};
use crate::tokens::format::TokenKind;
use crate::tokens::{self, IssueRequest, RequestedLifetime};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::op_status;
use crate::web::errors::PageError;
use crate::web::run;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
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
                grantable: true,
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

/// `GET /admin/access-tokens/new`, for a person who may create service tokens.
pub async fn new_form(user: PageUser, svc: web::Data<Services>) -> Result<HttpResponse, PageError> {
    let may_create = Action::Issue {
        kind: TokenKind::Service,
        owner: "",
        scopes: &[],
    };
    Policy::of(&svc.config)
        .check(&user.who, may_create)
        .map_err(PageError::Denied)?;
    Ok(html(StatusCode::OK, &blank_form(&svc, &user)))
}

/// `POST /admin/access-tokens`: creates a service token and shows it once;
/// on a mistake, the form again with the values and what was wrong.
pub async fn create(post: PageForm, svc: web::Data<Services>) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let mut form = blank_form(&svc, &post.user);
    form.name = post.field("name").trim().to_string();
    form.owner = post.field("owner").trim().to_string();
    form.description = post.field("description").trim().to_string();
    form.expires = post.field("expires").trim().to_string();
    form.cidrs = post.field("cidrs");
    let chosen = post.all("scope");
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
    let lifetime = match lifetime {
        Ok(l) => l,
        Err(why) => {
            form.error = Some(why);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &form));
        }
    };
    let request = IssueRequest {
        description: Some(form.description.clone()).filter(|d| !d.is_empty()),
        lifetime,
        cidrs: form
            .cidrs
            .split([',', ' ', '\n', '\r'])
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        ..IssueRequest::new(TokenKind::Service, &form.owner, &form.name, chosen)
    };
    let who = post.user.who.clone();
    let error = match run(&svc, move |s| tokens::issue(s, &who, request)).await {
        Ok(t) => {
            let page = TokenSecretPage {
                nav: post.user.nav(),
                title: "New service token".into(),
                token: TokenLine::new(&t.record, svc.now()),
                raw: t.raw.expose().to_string(),
                note: None,
                back: page_url(&svc, &format!("{LIST}/{}", t.record.id), &[]),
            };
            return Ok(html(StatusCode::CREATED, &page));
        }
        Err(e @ OpError::Invalid(_)) => {
            let status = op_status(&e);
            let OpError::Invalid(v) = e else {
                unreachable!("matched above")
            };
            (status, v.message)
        }
        Err(e @ OpError::Conflict(Conflict::NameTaken)) => (
            op_status(&e),
            "this owner already has an active token with this name".into(),
        ),
        Err(e) => return Err(e.into()),
    };
    form.error = Some(error.1);
    Ok(html(error.0, &form))
}
