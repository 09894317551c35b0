//! What the outbox page shows.

use askama::Template;
use chrono::NaiveDateTime;

use super::params::{OutboxParams, STATUSES};
use super::queries::OutboxRow;
use crate::web::layout::Layout;
use crate::web::list::Pager;

#[derive(Template)]
#[template(path = "mail/outbox.html")]
pub struct OutboxListPage {
    pub layout: Layout,
    pub params: OutboxParams,
    pub rows: Vec<OutboxRow>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
}

impl OutboxRow {
    pub fn status_label(&self) -> &'static str {
        STATUSES.iter().find(|(word, _)| *word == self.status).map_or("Cancelled", |(_, label)| label)
    }

    /// When it went, or when the next attempt is due.
    pub fn when(&self) -> String {
        let at = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M").to_string();
        match (self.status.as_str(), self.sent_at) {
            ("sent", Some(sent)) => format!("sent {}", at(sent)),
            ("queued", _) => format!("next attempt {}", at(self.next_attempt_at)),
            _ => String::new(),
        }
    }
}
