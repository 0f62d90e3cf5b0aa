//! The one route table. Each row registers a handler and is listed in
//! [`route_list`], so tests (and the OpenAPI document's test) see exactly
//! the routes the server answers.

use super::{api, health, metrics, oauth, openapi, pages, static_files};
use crate::config::Config;
use crate::oauth::paths::{
    AUTHORIZE_PATH, DEVICE_AUTHORIZATION_PATH, INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH,
    VERIFICATION_PATH,
};
use actix_web::{web, App};

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Programs: JSON in and out (or forms, for the OAuth endpoints); every
    /// one is described in the OpenAPI document.
    Api,
    /// People in a browser: HTML pages, redirects and their assets.
    Page,
    /// Operators' probes and scrapers (`/healthz`, `/readyz`, `/metrics`).
    Probe,
}

/// One row of the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Who it is for.
    pub audience: Audience,
    /// `get`, `post`, `put`, `patch` or `delete`.
    pub method: &'static str,
    /// The path pattern (`{id}` for a segment).
    pub path: String,
}

/// Registers each `audience method path => handler` row on `cfg` and
/// appends it to `list`.
macro_rules! table {
    ($cfg:ident, $list:ident; $($audience:ident $method:ident $path:expr => $handler:expr;)*) => {
        $(
            let path: String = ($path).into();
            $cfg.route(&path, web::$method().to($handler));
            $list.push(Route { audience: Audience::$audience, method: stringify!($method), path });
        )*
    };
}

/// Registers every route on `cfg` and returns the table. Routes are tried
/// in order: the exchange, what patgate does most, comes first.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) -> Vec<Route> {
    use api::{compat, personal, service};
    use oauth::{authorize, compat_token, device_authorization, revoke_introspect, well_known};
    use pages::{admin_service_form, admin_tokens, admin_users, consent, device, login, settings};
    let mut list = Vec::new();
    table!(cfg, list;
        Api post TOKEN_PATH => oauth::token::token;
        Api post DEVICE_AUTHORIZATION_PATH => device_authorization::start;
        Api post REVOKE_PATH => revoke_introspect::revoke;
        Api post INTROSPECT_PATH => revoke_introspect::introspect;
        Api get JWKS_PATH => well_known::jwks;
        Api get "/.well-known/openid-configuration" => well_known::metadata;
        Api get "/.well-known/oauth-authorization-server" => well_known::metadata;
        Api get openapi::PATH => openapi::document;
        Page get AUTHORIZE_PATH => authorize::get;
        Page post AUTHORIZE_PATH => authorize::post;
        Probe get "/healthz" => health::healthz;
        Probe get "/readyz" => health::readyz;
        Probe get "/metrics" => metrics::metrics;
    );
    if config.compat.enabled {
        let (auth, admin) = (&config.compat.auth_path, &config.compat.admin_path);
        let (tokens, one) = (format!("{admin}/tokens"), format!("{admin}/tokens/{{id}}"));
        table!(cfg, list;
            Api post format!("{auth}/token") => compat_token::token;
            Api get tokens.as_str() => compat::list;
            Api post tokens.as_str() => compat::issue;
            Api post format!("{tokens}/batch") => compat::batch;
            Api put one.as_str() => compat::register;
            Api patch one.as_str() => compat::update;
            Api put format!("{one}/revoke") => compat::revoke;
            Api put format!("{one}/restore") => compat::restore;
        );
    }
    table!(cfg, list;
        Api get "/api/access-tokens/personal" => personal::list;
        Api post "/api/access-tokens/personal" => personal::create;
        Api get "/api/access-tokens/personal/{id}" => personal::get;
        Api delete "/api/access-tokens/personal/{id}" => personal::revoke;
        Api post "/api/access-tokens/personal/{id}/rotate" => personal::rotate;
        Api get "/api/access-tokens/personal/{id}/audit" => personal::audit_trail;
        Api get "/api/access-tokens/service" => service::list;
        Api post "/api/access-tokens/service" => service::create;
        Api get "/api/access-tokens/service/scopes" => service::scopes;
        Api get "/api/access-tokens/service/{id}" => service::get;
        Api delete "/api/access-tokens/service/{id}" => service::revoke;
        Api post "/api/access-tokens/service/{id}/restore" => service::restore;
        Api get "/api/access-tokens/service/{id}/audit" => service::audit_trail;
        Api post "/api/access-tokens/users/{subject}/revoke-all" => service::revoke_all;
        Api post "/api/leaked-tokens" => api::leaks::report;
        Page get VERIFICATION_PATH => device::show;
        Page post VERIFICATION_PATH => device::submit;
        Page get "/oauth2/authorize/{id}" => consent::show;
        Page post "/oauth2/authorize/{id}" => consent::submit;
        Page get "/login/sso/{provider}" => pages::sso::start;
        Page get "/login/sso/{provider}/callback" => pages::sso::callback;
        Page get "/login" => login::show;
        Page post "/login" => login::submit;
        Page post "/logout" => login::logout;
        Page get "/" => login::home;
        Page get "/static/patgate.css" => static_files::stylesheet;
        Page get "/static/copy.js" => static_files::copy_script;
        Page get "/settings/personal-tokens" => settings::list;
        Page get "/settings/personal-tokens/new" => settings::generate;
        Page get "/settings/personal-tokens/callback" => settings::callback;
        Page get "/settings/personal-tokens/{id}/revoke" => settings::confirm_revoke;
        Page post "/settings/personal-tokens/{id}/revoke" => settings::revoke;
        Page get "/settings/personal-tokens/{id}/regenerate" => settings::confirm_regenerate;
        Page post "/settings/personal-tokens/{id}/regenerate" => settings::regenerate;
        Page get "/admin/access-tokens" => admin_tokens::list;
        Page post "/admin/access-tokens" => admin_service_form::create;
        Page get "/admin/access-tokens/new" => admin_service_form::new_form;
        Page get "/admin/access-tokens/{id}" => admin_tokens::detail;
        Page post "/admin/access-tokens/{id}/revoke" => admin_tokens::revoke;
        Page post "/admin/access-tokens/{id}/restore" => admin_tokens::restore;
        Page get "/admin/users/revoke-all" => admin_tokens::confirm_revoke_all;
        Page post "/admin/users/revoke-all" => admin_tokens::revoke_all;
        Page get "/admin/users" => admin_users::list;
        Page get "/admin/users/disable" => admin_users::confirm_disable;
        Page post "/admin/users/disable" => admin_users::disable;
        Page post "/admin/users/enable" => admin_users::enable;
    );
    list
}

/// The route table for `config`, without a server.
pub fn route_list(config: &Config) -> Vec<Route> {
    let mut list = Vec::new();
    let _ = App::new().configure(|cfg| list = routes(cfg, config));
    list
}
