//! The web kernel: layout, flash messages, rendering helpers, static files, security headers.

pub mod client;
pub mod csv_export;
pub mod flash;
pub mod headers;
pub mod layout;
pub mod list;
pub mod own_writes;
pub mod static_files;

use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;

use crate::error::AppError;

pub use flash::Flash;
pub use layout::Layout;

/// 303 See Other to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// Render a page with status 200.
pub fn render<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    render_with(actix_web::http::StatusCode::OK, page)
}

/// Render a form again with its values and field errors (422).
pub fn render_422<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, page)
}

pub fn render_with<T: Template>(status: actix_web::http::StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    let body = page.render()?;
    Ok(HttpResponse::build(status).insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8")).body(body))
}

/// Percent-encode a query-string value.
pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `next` target after sign-in: only a local path (one leading `/`, not `//` or `/\`,
/// no control characters); anything else goes home.
pub fn local_path(next: &str) -> &str {
    let is_local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 2048;
    if is_local {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/admin?x=1"), "/admin?x=1");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/\t/evil.example",
            "/%0a",
            "\\\\evil",
            "/ok\\..\\x",
            "javascript:alert(1)",
        ] {
            let target = local_path(hostile);
            assert!(target == "/" || target == "/%0a", "{hostile:?} -> {target:?}");
        }
    }
}
