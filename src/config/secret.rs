//! The secret key and what `Debug` output hides.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use url::Url;

use super::Config;

/// What `Debug` output shows in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// `url` with its password and query replaced by `<redacted>`, for logs and `Debug` output.
/// A plain file path (no scheme) is shown as it is; anything else that is not a URL is hidden.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw.trim()) {
        Ok(mut url) => {
            let had_query = url.query().is_some();
            url.set_query(None);
            let had_password = url.password().is_some();
            let mut shown = if had_password && url.set_password(None).is_ok() {
                url.to_string().replacen('@', &format!(":{REDACTED}@"), 1)
            } else {
                url.to_string()
            };
            if had_query {
                shown.push('?');
                shown.push_str(REDACTED);
            }
            shown
        }
        Err(_) if !raw.contains("://") && !raw.contains('@') => raw.to_owned(),
        Err(_) => REDACTED.to_owned(),
    }
}
/// Where the key comes from: given, or read from (first generated into) the data dir, once;
/// every clone of the settings shares what was read.
#[derive(Clone)]
pub enum SecretKey {
    Given(Vec<u8>),
    InDataDir(Arc<OnceLock<Vec<u8>>>),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

pub const MIN_SECRET_KEY_LEN: usize = 64;
impl Config {
    /// The secret key's bytes: given, or read from (first generated into) the data dir. The
    /// file is read once; later calls, on any clone of these settings, reuse what was read.
    pub fn load_secret_key(&self) -> anyhow::Result<Vec<u8>> {
        match &self.secret_key {
            SecretKey::Given(bytes) => Ok(bytes.clone()),
            SecretKey::InDataDir(loaded) => {
                if let Some(bytes) = loaded.get() {
                    return Ok(bytes.clone());
                }
                let bytes = load_or_create_key_file(&self.data_dir.join("secret.key"))?;
                Ok(loaded.get_or_init(|| bytes).clone())
            }
        }
    }
}
pub(super) fn load_or_create_key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim();
            anyhow::ensure!(
                key.chars().count() >= MIN_SECRET_KEY_LEN,
                "the secret key in {} is shorter than {MIN_SECRET_KEY_LEN} characters; delete it to generate a new one",
                path.display()
            );
            Ok(key.as_bytes().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::private_fs::create_dir(parent)
                    .with_context(|| format!("cannot create data folder {}", parent.display()))?;
            }
            let key = crate::auth::random_token(72);
            write_private_file(path, &key).with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key.into_bytes())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub(super) fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = crate::private_fs::open_options().write(true).create_new(true).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}
