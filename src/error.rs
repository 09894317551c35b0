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
    /// Too many attempts from this client (429, with `Retry-After`).
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The server is at capacity for this kind of work (503, with `Retry-After`).
    #[error("server busy")]
    Busy { retry_after_secs: u64 },
    /// A stored second-factor secret no longer opens: the secret key changed (503, logged).
    #[error("second-factor secret unreadable: {0}")]
    SecondFactorUnreadable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Every database error is unexpected (500, logged): a row missing deep inside a write is a
/// fault, not "Page not found". A handler that looks up what the address names says so itself,
/// with `.optional()` and `AppError::NotFound`.
impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(error).context("database query failed"))
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(error).context("template rendering failed"))
    }
}

/// Why a feature's act did not happen: a refusal its handler shows on the page it re-renders,
/// or a fault (500, through `AppError`). Feature queries return `Result<T, Failure<Refusal>>`
/// and handlers receive the refusal alone from [`crate::db::Db::attempt`].
#[derive(Debug)]
pub enum Failure<R> {
    Refused(R),
    Fault(AppError),
}

impl<R> Failure<R> {
    /// The refusal for the handler to match, the fault for `?`.
    pub fn split<T>(outcome: Result<T, Self>) -> Result<Result<T, R>, AppError> {
        match outcome {
            Ok(value) => Ok(Ok(value)),
            Err(Self::Refused(refusal)) => Ok(Err(refusal)),
            Err(Self::Fault(fault)) => Err(fault),
        }
    }
}

impl<R> From<diesel::result::Error> for Failure<R> {
    fn from(error: diesel::result::Error) -> Self {
        Self::Fault(error.into())
    }
}

impl<R> From<AppError> for Failure<R> {
    fn from(error: AppError) -> Self {
        Self::Fault(error)
    }
}

impl<R: std::fmt::Display> std::fmt::Display for Failure<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(refusal) => refusal.fmt(f),
            // The whole cause chain, for the command line that prints it.
            Self::Fault(AppError::Unexpected(cause)) => write!(f, "{cause:#}"),
            Self::Fault(fault) => fault.fmt(f),
        }
    }
}

/// A refusal nobody re-renders is a conflict with the state it met (409).
impl<R: std::fmt::Display> From<Failure<R>> for AppError {
    fn from(failure: Failure<R>) -> Self {
        match failure {
            Failure::Refused(refusal) => Self::Conflict(refusal.to_string()),
            Failure::Fault(fault) => fault,
        }
    }
}

/// Lets `?` lift each named refusal type into its `Failure` (a blanket `impl<R> From<R>` would
/// overlap `From<diesel::result::Error>`).
macro_rules! refusals {
    ($($refusal:ty),+ $(,)?) => {
        $(impl From<$refusal> for $crate::error::Failure<$refusal> {
            fn from(refusal: $refusal) -> Self {
                Self::Refused(refusal)
            }
        })+
    };
}
pub(crate) use refusals;

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
            Self::TooManyRequests { retry_after_secs } => (
                "Too many attempts",
                format!("Too many attempts came from your address. Wait {} and try again.", seconds(*retry_after_secs)),
            ),
            Self::Busy { retry_after_secs } => (
                "Server busy",
                format!(
                    "The server is handling many sign-ins right now. Wait {} and try again.",
                    seconds(*retry_after_secs)
                ),
            ),
            Self::SecondFactorUnreadable(_) => (
                "Two-step sign-in unavailable",
                "Your two-step sign-in cannot be checked right now. A platform administrator has been told \
                 through the server log; ask one for help."
                    .into(),
            ),
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
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy { .. } | Self::SecondFactorUnreadable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            Self::SecondFactorUnreadable(which) => log::error!(
                "a second-factor secret cannot be opened ({which}): ORGPORTAL_SECRET_KEY (or DATA_DIR/secret.key) is \
                 not the key it was sealed with. Restore that key, or run `orgportal admin reset-2fa EMAIL` for the account."
            ),
            _ => {}
        }
        let status = self.status_code();
        let (title, message) = self.title_and_message();
        let page = ErrorPage { status: status.as_u16(), title, message: &message };
        let body = page.render().unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
        if let Self::TooManyRequests { retry_after_secs } | Self::Busy { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        response.body(body)
    }
}

fn seconds(n: u64) -> String {
    if n == 1 {
        "a second".into()
    } else {
        format!("{n} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_row_inside_a_query_is_a_fault_not_a_missing_page() {
        let error: AppError = diesel::result::Error::NotFound.into();
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(matches!(error, AppError::Unexpected(_)));
        // Only a handler that says so answers 404.
        assert_eq!(AppError::NotFound.status_code(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn an_unreadable_second_factor_is_503_without_the_cause() {
        let error = AppError::SecondFactorUnreadable("account 7: wrong key".into());
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let (_, message) = error.title_and_message();
        assert!(!message.contains("wrong key") && !message.contains("account 7"), "{message}");
    }
}
