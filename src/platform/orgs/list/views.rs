//! What the Organizations page shows: its rows as text and the page around them.

use askama::Template;
use chrono::NaiveDateTime;

use super::params::ListParams;
use crate::db::search::OrgField;
use crate::web::layout::Layout;
// `SortKey`: the template calls `sort.as_str()` on the sorted column.
use crate::web::list::{Pager, SortHeader, SortKey as _};

pub struct OrgRowView {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub quota: String,
    pub users: String,
    pub created: String,
    pub created_iso: String,
    pub manage: bool,
    /// The Removal Status this viewer reads; empty without a request.
    pub removal_status: String,
}

#[derive(Template)]
#[template(path = "orgs/list.html")]
pub struct OrgListPage {
    pub layout: Layout,
    pub params: ListParams,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<OrgRowView>,
    pub pager: Pager,
    pub page_sizes: [i64; 4],
    /// This page's address, so the toolbar can come back to it.
    pub back: String,
    /// Why Add organization is disabled (an LDAP connection exists).
    pub ldap_lock: Option<&'static str>,
}

impl OrgListPage {
    fn search_by_options(&self) -> [(&'static str, &'static str, bool); 3] {
        OrgField::ALL.map(|field| (field.as_str(), field.label(), field == self.params.by))
    }
}

// Dates written digit by digit: chrono's format strings are parsed on every call, and even
// `format!` with padded integers cost a tenth of the page's instructions (callgrind,
// bench/RESULTS.md 2026-12-02).

/// `YYYY-MM-DD`.
pub(super) fn day(at: NaiveDateTime) -> String {
    let mut text = String::with_capacity(10);
    push_day(&mut text, at);
    text
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the times are UTC).
pub(crate) fn iso_time(at: NaiveDateTime) -> String {
    use chrono::Timelike;
    let mut text = String::with_capacity(20);
    push_day(&mut text, at);
    text.push('T');
    push_padded(&mut text, at.hour(), 2);
    text.push(':');
    push_padded(&mut text, at.minute(), 2);
    text.push(':');
    push_padded(&mut text, at.second(), 2);
    text.push('Z');
    text
}

fn push_day(text: &mut String, at: NaiveDateTime) {
    use chrono::Datelike;
    match u32::try_from(at.year()) {
        Ok(year) if year <= 9999 => push_padded(text, year, 4),
        // Years the clock never gives, written as chrono writes them.
        _ => text.push_str(&format!("{:04}", at.year())),
    }
    text.push('-');
    push_padded(text, at.month(), 2);
    text.push('-');
    push_padded(text, at.day(), 2);
}

/// `value` in decimal, zero-padded to `width` digits (wider values are written in full).
fn push_padded(text: &mut String, value: u32, width: usize) {
    let mut digits = [0u8; 10];
    let mut n = value;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in len..width {
        text.push('0');
    }
    for &digit in digits[..len].iter().rev() {
        text.push(char::from(digit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_chrono_writes_them() {
        let times = [
            "2026-12-02T09:05:07",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59",
            "2024-02-29T12:30:00",
            "0999-10-10T10:10:10",
        ];
        for text in times {
            let at = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap();
            assert_eq!(day(at), at.format("%Y-%m-%d").to_string());
            assert_eq!(iso_time(at), at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let far = chrono::NaiveDate::from_ymd_opt(12345, 6, 7).unwrap().and_hms_opt(1, 2, 3).unwrap();
        assert_eq!(iso_time(far), "12345-06-07T01:02:03Z", "wider years in full");
        let before_christ = chrono::NaiveDate::from_ymd_opt(-44, 3, 15).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(day(before_christ), "-044-03-15", "no panic before year 1");
    }
}
