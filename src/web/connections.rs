//! Client connections counted while they are open: over the admitted
//! number (see [`crate::descriptors::ConnectionBudget`]) a connection's
//! request is answered 503 with `Retry-After` and the connection closed, so
//! a flood of connections gets a quick answer instead of waiting in the
//! listen backlog or exhausting the process's descriptors.

use super::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The open client connections of this instance.
#[derive(Debug, Default)]
pub struct OpenConnections {
    open: Arc<AtomicUsize>,
}

/// One open connection, kept in its extensions: counted from accept until
/// the connection's state is dropped (when it closes).
#[derive(Debug)]
struct Slot {
    open: Arc<AtomicUsize>,
    over: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl OpenConnections {
    /// Counts a new connection (the server's `on_connect`): over
    /// `admitted`, its requests will be refused.
    pub fn opened(&self, extensions: &mut Extensions, admitted: usize) {
        let now = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        extensions.insert(Slot {
            open: self.open.clone(),
            over: now > admitted,
        });
    }
}

/// The middleware function (use with `middleware::from_fn`): a request on
/// a connection over the budget gets 503 and the connection is closed.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.conn_data::<Slot>().is_some_and(|s| s.over) {
        let mut res = ApiError::Unavailable("too many connections open".into()).error_response();
        res.head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
