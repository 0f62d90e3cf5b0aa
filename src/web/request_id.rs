//! Gives every request an id, returns it as `X-Request-Id`, and logs server
//! errors with it (the client sees only the id).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The header carrying the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The middleware function (use with `middleware::from_fn`).
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (method, path) = (req.method().clone(), req.path().to_string());
    let mut res = next.call(req).await?;
    if res.status().is_server_error() {
        match res.response().error() {
            Some(err) => {
                tracing::error!(request_id = %id, %method, %path, error = %err, "request failed")
            }
            None => {
                tracing::warn!(request_id = %id, %method, %path, status = %res.status(), "server error")
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}
