//! The outbox page as a list at scale: keyset cursors visit every message once (also among
//! equal times), the status and recipient filters equal the same filter in memory, totals are
//! capped, junk never fails, and Retry and metadata-only still hold.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use orgportal::db::schema::outbox;

use crate::helpers::{row_ids, Response, TestApp};
use crate::on_both_backends;

on_both_backends!(
    cursor_walks_cover_every_message_once_with_ties,
    filters_equal_an_in_memory_filter,
    junk_input_never_fails,
    totals_are_capped_and_typed_pages_bounded,
    retry_still_works_and_bodies_stay_hidden,
);

const STATUSES: [&str; 5] = ["queued", "sending", "sent", "failed", "cancelled"];
const RECIPIENTS: [&str; 4] = ["ann@example.com", "bob@example.org", "émile@exemple.fr", "ann@example.co"];

/// A message as the page shows it.
#[derive(Debug, Clone)]
struct Message {
    id: i64,
    recipient: String,
    status: String,
    created_at: NaiveDateTime,
}

fn insert(app: &TestApp, recipient: &str, status: &str, created_at: NaiveDateTime, body: &str) -> i64 {
    let mut conn = app.conn();
    let message_id = format!("<{}@test>", orgportal::auth::random_token(12));
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(&message_id),
            outbox::kind.eq("user_invitation"),
            outbox::recipient.eq(recipient),
            outbox::subject.eq(format!("Subject for {recipient}")),
            outbox::body_text.eq(body),
            outbox::body_html.eq(body),
            outbox::status.eq(status),
            // Not due for a year: the worker has nothing to do with these.
            outbox::next_attempt_at.eq(created_at + Duration::days(365)),
            outbox::created_at.eq(created_at),
        ))
        .execute(&mut *conn)
        .expect("insert message");
    outbox::table.filter(outbox::message_id.eq(message_id)).select(outbox::id).first(&mut *conn).expect("inserted")
}

/// 250 messages over five distinct times (many ties), statuses and recipients interleaved.
fn seed(app: &TestApp) -> Vec<Message> {
    let base = app.clock.now() - Duration::days(3);
    for i in 0..250usize {
        let created_at = base + Duration::hours(((i * 7) % 5) as i64);
        insert(app, RECIPIENTS[(i * 3) % 4], STATUSES[(i * 2) % 5], created_at, "");
    }
    let rows: Vec<(i64, String, String, NaiveDateTime)> = outbox::table
        .select((outbox::id, outbox::recipient, outbox::status, outbox::created_at))
        .load(&mut *app.conn())
        .expect("messages");
    rows.into_iter().map(|(id, recipient, status, created_at)| Message { id, recipient, status, created_at }).collect()
}

/// The ids the page should list, newest first, for a status and an exact recipient.
fn expected(model: &[Message], status: Option<&str>, recipient: Option<&str>) -> Vec<i64> {
    let mut rows: Vec<&Message> = model
        .iter()
        .filter(|m| status.is_none_or(|s| m.status == s))
        .filter(|m| recipient.is_none_or(|r| m.recipient == r.to_lowercase()))
        .collect();
    rows.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    rows.into_iter().map(|m| m.id).collect()
}

fn link(page: &Response, rel: &str) -> Option<String> {
    let marker = "<a href=\"";
    page.body.match_indices(marker).find_map(|(at, _)| {
        let rest = &page.body[at + marker.len()..];
        let href = &rest[..rest.find('"')?];
        let tail = &rest[href.len()..rest.find('>')?];
        tail.contains(&format!("rel=\"{rel}\"")).then(|| href.replace("&#38;", "&").replace("&amp;", "&"))
    })
}

fn query_for(status: Option<&str>, recipient: Option<&str>) -> String {
    let mut query = String::new();
    if let Some(status) = status {
        query.push_str(&format!("&status={status}"));
    }
    if let Some(recipient) = recipient {
        query.push_str(&format!("&recipient={}", orgportal::web::urlencode(recipient)));
    }
    query
}

async fn cursor_walks_cover_every_message_once_with_ties(mut app: TestApp) {
    let model = seed(&app);
    app.login_as_admin().await;
    for (status, recipient) in
        [(None, None), (Some("sent"), None), (None, Some("ann@example.com")), (Some("failed"), Some("BOB@example.org"))]
    {
        let everything = expected(&model, status, recipient);
        assert!(everything.len() > 10, "the model has two pages for {status:?} {recipient:?}");
        let url = format!("/admin/outbox?per_page=10{}", query_for(status, recipient));
        let mut seen = Vec::new();
        let mut page = app.get(&url).await;
        loop {
            page.assert_status(200);
            seen.extend(row_ids(&page.body, "message"));
            let summary = format!("–{} of {}", seen.len(), everything.len());
            assert!(page.body.contains(&summary), "{url}: {summary}");
            let Some(next) = link(&page, "next") else { break };
            assert!(next.contains("after="), "next pages use a cursor: {next}");
            page = app.get(&next).await;
        }
        assert_eq!(seen, everything, "{url}: every message once, newest first");
        let mut back = row_ids(&page.body, "message");
        while let Some(prev) = link(&page, "prev") {
            assert!(prev.contains("before="), "previous pages use a cursor: {prev}");
            page = app.get(&prev).await;
            let mut earlier = row_ids(&page.body, "message");
            earlier.extend(back);
            back = earlier;
        }
        assert_eq!(back, everything, "{url}: backwards too");
        assert!(link(&page, "first").is_none() && link(&page, "next").is_some());
    }
}

async fn filters_equal_an_in_memory_filter(mut app: TestApp) {
    let model = seed(&app);
    app.login_as_admin().await;
    let statuses = std::iter::once(None).chain(STATUSES.map(Some));
    for status in statuses {
        for recipient in
            [None, Some("ann@example.com"), Some("ANN@Example.COM"), Some("Émile@exemple.fr"), Some("nobody@x.org")]
        {
            let everything = expected(&model, status, recipient);
            let url = format!("/admin/outbox?per_page=100{}", query_for(status, recipient));
            let page = app.get(&url).await;
            page.assert_status(200);
            assert_eq!(row_ids(&page.body, "message"), everything[..everything.len().min(100)], "{url}");
            if everything.is_empty() {
                assert!(page.body.contains("No emails match these filters"), "{url}");
            }
            // A typed page number lands where the same filter in memory says.
            if everything.len() > 10 {
                let page = app.get(&format!("/admin/outbox?per_page=10&page=2{}", query_for(status, recipient))).await;
                assert_eq!(row_ids(&page.body, "message"), everything[10..everything.len().min(20)], "{url} page 2");
                if everything.len() <= 20 {
                    assert!(
                        link(&page, "last").is_none() && link(&page, "next").is_none(),
                        "{url}: page 2 is the last"
                    );
                    continue;
                }
                let last = link(&page, "last").expect("a counted total has a last page");
                let last_page = app.get(&last).await;
                let tail = (everything.len() - 1) / 10 * 10;
                assert_eq!(row_ids(&last_page.body, "message"), everything[tail..], "{last}");
                assert!(link(&last_page, "next").is_none() && link(&last_page, "last").is_none());
            }
        }
    }
    // The filters are kept in the form and in every link.
    let page = app.get("/admin/outbox?per_page=10&status=sent&recipient=ANN%40example.com").await;
    assert!(page.body.contains(r#"<option value="sent" selected>"#), "{}", page.body);
    assert!(page.body.contains(r#"value="ANN@example.com""#));
    let next = link(&page, "next").unwrap_or_default();
    assert!(next.contains("status=sent") && next.contains("recipient=ann%40example.com"), "{next}");
}

async fn junk_input_never_fails(mut app: TestApp) {
    seed(&app);
    app.login_as_admin().await;
    let unfiltered = row_ids(&app.get("/admin/outbox").await.body, "message");
    for query in [
        "status=drop%20table&per_page=0&page=-1",
        "status=%00&recipient=",
        "page=99999999999999999999999",
        "page=9223372036854775807&per_page=100",
        "per_page=1000000",
        "after=garbage&before=%00",
        "after=%%%",
        "before=eyJhIjpmYWxzZSwiayI6IjIwMjYiLCJpIjoxLCJwIjoyfQ",
        "after=eyJhIjp0cnVlLCJrIjoiOTk5OTktMDEtMDFUMDA6MDA6MDAuMDAwMDAwIiwiaSI6MSwicCI6Mn0",
        "recipient=%FF%FE%40x.org",
        "recipient=%27%20OR%201=1%20--%40x",
        "recipient=%3Cscript%3Ealert(1)%3C/script%3E%40x.org",
    ] {
        let response = app.get(&format!("/admin/outbox?{query}")).await;
        response.assert_status(200);
        assert!(!response.body.contains("<script>alert"), "{query}: escaped");
    }
    for (query, says) in [
        ("recipient=ann%00%40example.com", "U+0000"),
        ("recipient=ann%0A%40example.com", "U+000A"),
        ("recipient=ann", "whole email address"),
        (&format!("recipient={}%40example.com", "a".repeat(10_240)), "254"),
    ] {
        let response = app.get(&format!("/admin/outbox?{query}")).await;
        response.assert_status(422);
        assert!(response.body.contains(r#"id="recipient-error""#) && response.body.contains(says), "{query}");
        // The list is shown, not narrowed by what was refused.
        assert_eq!(row_ids(&response.body, "message"), unfiltered, "{query}");
    }
}

async fn totals_are_capped_and_typed_pages_bounded(mut app: TestApp) {
    let now = app.clock.now();
    let added = orgportal::demo::load_outbox(&mut app.conn(), 10_050, now, |_| {}).expect("load");
    assert_eq!(added, 10_050);
    app.login_as_admin().await;
    let first = app.get("/admin/outbox").await;
    first.assert_status(200);
    assert!(first.body.contains("Showing 1–25 of more than 10,000"), "{}", first.body);
    assert!(link(&first, "next").is_some() && link(&first, "last").is_none());
    // A typed page past the counted window shows its last page, which still leads on.
    let deep = app.get("/admin/outbox?page=999999").await;
    deep.assert_status(200);
    assert!(deep.body.contains("Showing 9,976–10,000 of more than 10,000"), "{}", deep.body);
    let ids: Vec<i64> = outbox::table
        .order((outbox::created_at.desc(), outbox::id.desc()))
        .select(outbox::id)
        .limit(10_025)
        .load(&mut *app.conn())
        .expect("ids");
    assert_eq!(row_ids(&deep.body, "message"), ids[9_975..10_000]);
    let past = app.get(&link(&deep, "next").expect("next past the window")).await;
    assert_eq!(row_ids(&past.body, "message"), ids[10_000..10_025]);
    assert!(past.body.contains("Page 401"));
    // A filter with fewer matches is counted exactly.
    let failed: i64 =
        outbox::table.filter(outbox::status.eq("failed")).count().get_result(&mut *app.conn()).expect("count");
    let page = app.get("/admin/outbox?status=failed").await;
    assert!(page.body.contains(&format!("of {}", orgportal::domain::group_thousands(failed))), "{failed}");
}

async fn retry_still_works_and_bodies_stay_hidden(mut app: TestApp) {
    let now = app.clock.now();
    let secret = "Open https://portal.example/register/SeCrEtToKeN to join";
    let id = insert(&app, "carol@example.com", "failed", now - Duration::hours(1), secret);
    insert(&app, "carol@example.com", "sent", now - Duration::hours(2), "");
    app.login_as_admin().await;
    let page = app.get("/admin/outbox?status=failed&recipient=carol%40example.com").await;
    assert_eq!(row_ids(&page.body, "message"), [id]);
    assert!(page.body.contains(&format!("/admin/outbox/{id}/retry")));
    for body in [&page.body, &app.get("/admin/outbox").await.body] {
        assert!(!body.contains("SeCrEtToKeN") && !body.contains("/register/"), "metadata only");
    }
    app.post(&format!("/admin/outbox/{id}/retry"), &[]).await.assert_redirect("/admin/outbox");
    let (status, attempts): (String, i32) =
        outbox::table.find(id).select((outbox::status, outbox::attempts)).first(&mut *app.conn()).expect("row");
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    let queued = app.get("/admin/outbox?status=queued&recipient=carol%40example.com").await;
    assert_eq!(row_ids(&queued.body, "message"), [id]);
    assert!(!queued.body.contains(&format!("/admin/outbox/{id}/retry")), "only a failed message has Retry");
}
