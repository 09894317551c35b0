//! The server log, as the tests see it: `capture()` installs (once per test binary) a logger
//! that keeps every line at info level and above, as `serve`'s logger would print it, so a
//! test can look for a line (the mail worker's refusal) or for what must never be there (a
//! registration token in the access log). Tests run in parallel: look for what is unique to
//! your test.

use std::sync::{Mutex, OnceLock};

struct Capture {
    lines: Mutex<Vec<String>>,
}

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            if let Ok(mut lines) = self.lines.lock() {
                lines.push(line);
            }
        }
    }

    fn flush(&self) {}
}

static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();

fn logger() -> &'static Capture {
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture { lines: Mutex::new(Vec::new()) }));
        // Fails only if another logger was installed first; then nothing is captured and the
        // tests that look for a line say so.
        if log::set_logger(capture).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
        capture
    })
}

/// Start capturing (idempotent). Call before the work whose log lines you want.
pub fn capture() {
    logger();
}

/// Every line captured so far, from every test of this binary.
pub fn lines() -> Vec<String> {
    logger().lines.lock().map(|lines| lines.clone()).unwrap_or_default()
}
