//! The pages' stylesheet and script, compiled in.

use actix_web::HttpResponse;

/// `GET /static/patgate.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../static/patgate.css"))
}

/// `GET /static/copy.js`: the copy button of the show-once token page.
pub async fn copy_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../static/copy.js"))
}
