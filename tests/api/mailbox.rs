//! The recipient's side of the file transport: deliver what the outbox holds to `.eml` files
//! in DATA_DIR/mail, as `serve`'s worker does, and read them back as a mail client would
//! (quoted-printable and base64 parts decoded), to find the links people were sent.

use std::path::PathBuf;

use base64::Engine;
use orgportal::mail::worker::Worker;

use crate::helpers::TestApp;

/// Deliver every due message (file transport); returns how many were attempted.
pub fn deliver_all(app: &TestApp) -> usize {
    let worker = Worker::new(app.state.db.clone(), app.clock.clone(), &app.state.config).expect("worker");
    let mut attempted = 0;
    loop {
        match worker.deliver_due().expect("delivery pass") {
            0 => return attempted,
            n => attempted += n,
        }
    }
}

/// The `.eml` files written so far, by name (the outbox id comes first, so names sort in the
/// order the messages were queued).
pub fn files(app: &TestApp) -> Vec<PathBuf> {
    let dir = app.data_dir().join("mail");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Each delivered message as (file name, recipient, decoded text of all its parts).
pub fn messages(app: &TestApp) -> Vec<(String, String, String)> {
    files(app)
        .into_iter()
        .map(|path| {
            let raw = std::fs::read_to_string(&path).expect("read .eml");
            let to = raw
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .map(|to| to.trim().trim_matches(['<', '>']).to_owned())
                .unwrap_or_default();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, to, decode(&raw))
        })
        .collect()
}

/// The registration tokens in the messages to `recipient`, in the order they were queued.
pub fn tokens_to(app: &TestApp, recipient: &str) -> Vec<String> {
    messages(app)
        .into_iter()
        .filter(|(_, to, _)| to == recipient)
        .filter_map(|(_, _, text)| link_token(&text))
        .collect()
}

/// The token of the first `/register/` link in `text`.
pub fn link_token(text: &str) -> Option<String> {
    let start = text.find("/register/")? + "/register/".len();
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

/// A raw message with every part's body decoded (headers kept as they are).
pub fn decode(raw: &str) -> String {
    let mut out = String::new();
    let mut encoding = String::new();
    let mut in_headers = true;
    let mut body = Vec::new();
    let flush = |encoding: &str, body: &mut Vec<&str>, out: &mut String| {
        match encoding {
            "base64" => {
                let joined: String = body.concat().split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(joined).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            "quoted-printable" => out.push_str(&quoted_printable(&body.join("\n"))),
            _ => out.push_str(&body.join("\n")),
        }
        out.push('\n');
        body.clear();
    };
    // Only the declared boundaries split parts: a body line may start with "--" too (a
    // quoted-printable soft break can fall just before "--" inside a link's token).
    let mut boundaries: Vec<String> = Vec::new();
    for line in raw.lines() {
        if let Some(at) = line.find("boundary=") {
            boundaries.push(line[at + "boundary=".len()..].trim().trim_matches('"').to_owned());
        }
        let is_boundary = line
            .strip_prefix("--")
            .is_some_and(|rest| boundaries.iter().any(|b| rest.trim_end().trim_end_matches("--") == b));
        if is_boundary {
            flush(&encoding, &mut body, &mut out);
            encoding.clear();
            in_headers = true;
            continue;
        }
        if in_headers {
            out.push_str(line);
            out.push('\n');
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-transfer-encoding:") {
                encoding = value.trim().to_owned();
            }
            if line.is_empty() {
                in_headers = false;
            }
            continue;
        }
        body.push(line);
    }
    flush(&encoding, &mut body, &mut out);
    out
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if let Some(byte) = joined.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
