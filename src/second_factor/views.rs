//! The pages of the second factor: enrolment (QR code, URI, secret, code), the code step of
//! sign-in, and the recovery codes shown once.

use askama::Template;

use super::Secret;
use crate::web::layout::Layout;

/// Where an enrolment page is shown; the wording differs a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Registration,
    Account,
}

#[derive(Template)]
#[template(path = "second_factor/enrol.html")]
pub struct EnrolPage {
    pub layout: Layout,
    /// Inline SVG drawn by `super::qr_svg` from our own URI: no user text reaches it.
    pub qr_svg: String,
    pub uri: String,
    pub secret: String,
    pub action: String,
    pub purpose: Purpose,
    pub error: Option<&'static str>,
    /// Re-enrolling: an older secret exists and keeps working until this one is confirmed.
    pub replacing: bool,
}

impl EnrolPage {
    pub fn new(
        layout: Layout,
        secret: &Secret,
        email: &str,
        action: &str,
        purpose: Purpose,
        error: Option<&'static str>,
    ) -> Self {
        let uri = secret.otpauth_uri(email);
        Self {
            layout,
            qr_svg: super::qr_svg(&uri),
            uri,
            secret: secret.base32(),
            action: action.to_owned(),
            purpose,
            error,
            replacing: false,
        }
    }

    pub fn is_registration(&self) -> bool {
        self.purpose == Purpose::Registration
    }

    pub fn is_account(&self) -> bool {
        self.purpose == Purpose::Account
    }

    /// The secret in groups of four, easier to type; the app ignores the spaces.
    pub fn secret_grouped(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Template)]
#[template(path = "second_factor/code.html")]
pub struct CodePage {
    pub layout: Layout,
    pub action: String,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "second_factor/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub download_href: String,
    pub continue_href: String,
    /// Just enrolled (rather than new codes made on the account page).
    pub enrolled: bool,
}

impl RecoveryCodesPage {
    pub fn new(layout: Layout, email: &str, codes: Vec<String>, continue_href: String, enrolled: bool) -> Self {
        Self { download_href: super::recovery_codes_download(email, &codes), layout, codes, continue_href, enrolled }
    }
}
