//! A viewer sees their own change at once, even when list pages read a replica: after each
//! state-changing request of a signed-in session, the session keeps where the primary's log
//! stood (its *floor*), and list reads use the replica only once it has replayed that far
//! (`db::replica`). Without a replica this layer does nothing.

use actix_session::{Session, SessionExt};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::db::{Db, WalPosition};

/// The session key of the floor: short, since it rides in every cookie.
const FLOOR_KEY: &str = "wal";

/// Where the primary's log stood after this session's last change, if it made one.
pub fn floor(session: &Session) -> Option<WalPosition> {
    session.get::<u64>(FLOOR_KEY).ok().flatten().map(WalPosition)
}

/// Middleware (inside the session layer, so what it stores is saved): after a request that may
/// have changed something, note the primary's position in a signed-in session.
pub async fn remember(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let may_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let db = req.app_data::<web::Data<Db>>().filter(|db| db.replica().is_some()).cloned();
    let response = next.call(req).await?;
    let Some(db) = db.filter(|_| may_write) else { return Ok(response) };
    let session = response.request().get_session();
    // Signed out (or never signed in): no list page to keep fresh.
    if crate::auth::session::cookie_token(&session).is_none() {
        return Ok(response);
    }
    match db.primary_position().await {
        Ok(Some(position)) => {
            // Only forward: a later position covers every earlier change.
            if floor(&session).is_none_or(|old| old < position) {
                if let Err(error) = session.insert(FLOOR_KEY, position.0) {
                    log::warn!("cannot keep the primary's position in the session: {error}");
                }
            }
        }
        Ok(None) => {}
        // The change itself went through (or failed) already; without a floor the next list
        // page may lag by the replica's delay, which the log says.
        Err(error) => log::warn!("cannot read the primary's position after a change: {error}"),
    }
    Ok(response)
}
