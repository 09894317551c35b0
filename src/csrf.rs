//! CSRF protection: one random token per session, rotated at sign-in and sign-out, and the
//! `CsrfForm<T>` extractor that every POST handler takes, so none can forget the check.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::AppError;

const SESSION_KEY: &str = "csrf";
/// The largest form body accepted; anything longer is answered with 413.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The session's token, created on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return Ok(token);
    }
    rotate(session)
}

/// Replace the session's token (sign-in, sign-out) and return the new one.
pub fn rotate(session: &Session) -> Result<String, AppError> {
    let token = crate::auth::random_token(32);
    session
        .insert(SESSION_KEY, &token)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot store CSRF token: {e}")))?;
    Ok(token)
}

/// A urlencoded form whose `csrf_token` matched the session's; `T` gets the other fields.
/// Fields of `T` should default to empty so a field left out never fails the request.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_length.is_some_and(|n| n > MAX_FORM_BYTES) {
                return Err(AppError::PayloadTooLarge);
            }
            let mut body = Vec::with_capacity(declared_length.unwrap_or(1024).min(MAX_FORM_BYTES));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| AppError::Unprocessable(format!("The form could not be read: {e}")))?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Err(AppError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            // The token is checked before the rest of the form is even looked at.
            let sent = serde_urlencoded::from_bytes::<TokenOnly>(&body).map(|t| t.csrf_token).unwrap_or_default();
            let expected = session.get::<String>(SESSION_KEY).ok().flatten().unwrap_or_default();
            let matches = !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()));
            if !matches {
                return Err(AppError::CsrfRejected);
            }
            serde_urlencoded::from_bytes::<T>(&body)
                .map(CsrfForm)
                .map_err(|e| AppError::Unprocessable(format!("The form could not be understood: {e}.")))
        })
    }
}
