//! One error type for every handler, turned into a page with the exact status.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

/// Everything a request can fail with. Form validation is not here: a form re-renders itself
/// with its field errors (422).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("the form's security token is missing or stale")]
    CsrfRejected,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::NotFound,
            other => Self::Unexpected(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(error).context("template rendering failed"))
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            Self::NotFound => ("Page not found", "There is no page at this address.".into()),
            Self::Forbidden(why) => ("Access denied", (*why).to_owned()),
            Self::CsrfRejected => (
                "Form expired",
                "This form was not accepted because its security token is missing or out of date. \
                 Go back, reload the page and submit it again."
                    .into(),
            ),
            Self::PayloadTooLarge => {
                ("Request too large", "The submitted form is larger than 64 KiB and was not accepted.".into())
            }
            Self::Unprocessable(why) => ("Request not accepted", why.clone()),
            Self::Conflict(why) => ("Request not accepted", why.clone()),
            Self::SignInRequired { .. } | Self::PasswordChangeRequired => ("Redirecting", String::new()),
            Self::Unexpected(_) => (
                "Something went wrong",
                "The server could not complete this request. It has been logged; please try again later.".into(),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::SignInRequired { .. } | Self::PasswordChangeRequired => StatusCode::SEE_OTHER,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignInRequired { next } => {
                let location = format!("/login?next={}", crate::web::urlencode(next));
                return crate::web::see_other(&location);
            }
            Self::PasswordChangeRequired => return crate::web::see_other("/account"),
            // Logged here, once, with the whole cause chain; the page shows none of it.
            Self::Unexpected(cause) => log::error!("request failed: {cause:?}"),
            _ => {}
        }
        let status = self.status_code();
        let (title, message) = self.title_and_message();
        let page = ErrorPage { status: status.as_u16(), title, message: &message };
        let body = page.render().unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
        HttpResponse::build(status).insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8")).body(body)
    }
}
