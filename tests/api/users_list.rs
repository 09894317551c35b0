//! The users list at scale (issue 17): keyset cursors over every sort, search through the
//! trigram indexes, capped totals, counters under concurrent writes, junk input. Members come
//! from the demo loader (`demo::members`), which also checks that it keeps the counters.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use orgportal::db::schema::{accounts, memberships, organizations, plans};
use orgportal::demo::members::load_members;
use orgportal::domain::fold;
use tokio::sync::Barrier;

use crate::helpers::{row_ids, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    cursor_walks_cover_every_membership_once_in_every_sort_and_direction,
    search_results_equal_an_in_memory_filter,
    totals_past_ten_thousand_are_capped_and_pages_still_walk,
    counters_equal_true_counts_after_concurrent_adds_and_removes,
    junk_input_never_fails_the_list,
);

/// One membership as the list sorts and filters it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub name_key: String,
    pub status: String,
    pub quota_gb: i64,
    pub created_at: NaiveDateTime,
    pub flags: i64,
    pub plan_key: String,
}

pub(crate) fn default_org(app: &TestApp) -> i64 {
    organizations::table
        .filter(organizations::is_default.eq(true))
        .select(organizations::id)
        .first(&mut *app.conn())
        .expect("default organization")
}

pub(crate) fn members(app: &TestApp, org: i64) -> Vec<Member> {
    type Flags = (bool, bool, bool, bool, bool);
    type Row = (i64, i64, String, String, String, i64, NaiveDateTime, Flags, Option<String>);
    let rows: Vec<Row> = memberships::table
        .inner_join(accounts::table)
        .left_join(plans::table)
        .filter(memberships::organization_id.eq(org))
        .select((
            memberships::id,
            memberships::account_id,
            accounts::email,
            accounts::name_key,
            memberships::status,
            memberships::quota_gb,
            memberships::created_at,
            (
                memberships::is_delegate,
                memberships::unsigned_containers,
                memberships::release_protections,
                memberships::recover,
                memberships::no_second_factor,
            ),
            plans::name_key.nullable(),
        ))
        .load(&mut *app.conn())
        .expect("memberships");
    rows.into_iter()
        .map(|(id, account_id, email, name_key, status, quota_gb, created_at, f, plan)| Member {
            id,
            account_id,
            email,
            name_key,
            status,
            quota_gb,
            created_at,
            flags: i64::from(f.0) * 16 + i64::from(f.1) * 8 + i64::from(f.2) * 4 + i64::from(f.3) * 2 + i64::from(f.4),
            plan_key: plan.unwrap_or_default(),
        })
        .collect()
}

/// The account ids the list should show, in its order.
pub(crate) fn expected(all: &[Member], sort: &str, desc: bool, status: Option<&str>, q: &str) -> Vec<i64> {
    let term = fold(q);
    let mut rows: Vec<&Member> = all
        .iter()
        .filter(|m| match status {
            Some(status) => m.status == status,
            None => m.status != "removed",
        })
        .filter(|m| term.is_empty() || m.email.contains(&term) || m.name_key.contains(&term))
        .collect();
    rows.sort_by(|a, b| {
        let key = match sort {
            "email" => a.email.as_bytes().cmp(b.email.as_bytes()),
            "name" => a.name_key.as_bytes().cmp(b.name_key.as_bytes()),
            "status" => a.status.cmp(&b.status),
            "quota" => a.quota_gb.cmp(&b.quota_gb),
            "flags" => a.flags.cmp(&b.flags),
            "plan" => a.plan_key.as_bytes().cmp(b.plan_key.as_bytes()),
            _ => a.created_at.cmp(&b.created_at),
        };
        let order = key.then(a.id.cmp(&b.id));
        if desc && !sort.is_empty() {
            order.reverse()
        } else {
            order
        }
    });
    rows.into_iter().map(|m| m.account_id).collect()
}

/// The pager link with `rel`, as a path (askama escapes `&`).
fn link(html: &str, rel: &str) -> Option<String> {
    let marker = format!(r#"" rel="{rel}""#);
    let end = html.find(&marker)?;
    let start = html[..end].rfind(r#"href=""#)? + r#"href=""#.len();
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

pub(crate) fn query(sort: &str, desc: bool, status: Option<&str>, q: &str, per_page: i64) -> String {
    let mut parts = vec![format!("per_page={per_page}")];
    if !sort.is_empty() {
        parts.push(format!("sort={sort}&dir={}", if desc { "desc" } else { "asc" }));
    }
    if let Some(status) = status {
        parts.push(format!("status={status}"));
    }
    if !q.is_empty() {
        parts.push(format!("q={}", url_encode(q)));
    }
    parts.join("&")
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Next links from the first page to the end, then previous links back: the rows seen going
/// forward, and going back (in list order).
pub(crate) async fn walk(app: &mut TestApp, org: i64, query: &str) -> (Vec<i64>, Vec<i64>) {
    let mut path = format!("/orgs/{org}/users?{query}");
    let mut forward = Vec::new();
    let mut pages = Vec::new();
    loop {
        let page = app.get(&path).await;
        page.assert_status(200);
        let ids = row_ids(&page.body, "account");
        forward.extend(&ids);
        pages.push(ids);
        assert!(pages.len() < 500, "the walk does not end: {path}");
        match link(&page.body, "next") {
            Some(next) => path = next,
            None => break,
        }
    }
    let mut backward: Vec<Vec<i64>> = Vec::new();
    let mut html = app.get(&path).await.body;
    while let Some(prev) = link(&html, "prev") {
        let page = app.get(&prev).await;
        page.assert_status(200);
        backward.push(row_ids(&page.body, "account"));
        html = page.body;
    }
    backward.reverse();
    let mut back: Vec<i64> = backward.into_iter().flatten().collect();
    back.extend(pages.last().cloned().unwrap_or_default());
    (forward, back)
}

/// Ties on every key: two more members with the same name, quota, flags, plan and time as an
/// existing one.
fn add_twins(app: &TestApp, org: i64, like: &Member) {
    let mut conn = app.conn();
    for n in 0..2 {
        let email = format!("twin{n}@example.com");
        diesel::insert_into(accounts::table)
            .values((
                accounts::email.eq(&email),
                accounts::display_name.eq("Twin"),
                accounts::name_key.eq(&like.name_key),
                accounts::created_at.eq(like.created_at),
                accounts::updated_at.eq(like.created_at),
            ))
            .execute(&mut *conn)
            .expect("account");
        let account: i64 =
            accounts::table.filter(accounts::email.eq(&email)).select(accounts::id).first(&mut *conn).expect("id");
        diesel::insert_into(memberships::table)
            .values((
                memberships::organization_id.eq(org),
                memberships::account_id.eq(account),
                memberships::status.eq(&like.status),
                memberships::quota_gb.eq(like.quota_gb),
                memberships::created_at.eq(like.created_at),
                memberships::updated_at.eq(like.created_at),
            ))
            .execute(&mut *conn)
            .expect("membership");
    }
    diesel::update(organizations::table.find(org))
        .set(organizations::member_count.eq(organizations::member_count + 2))
        .execute(&mut *conn)
        .expect("counter");
}

const SORTS: [&str; 8] = ["", "email", "name", "status", "quota", "added", "flags", "plan"];

async fn cursor_walks_cover_every_membership_once_in_every_sort_and_direction(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    assert_eq!(load_members(&mut app.conn(), 130, now).expect("load"), 130);
    let all = members(&app, org);
    let active = all.iter().find(|m| m.status == "active" && !m.name_key.is_empty()).expect("an active member").clone();
    add_twins(&app, org, &active);
    let all = members(&app, org);
    for (status, q) in [(None, ""), (Some("active"), ""), (None, "ar"), (None, "mar"), (Some("invited"), "member")] {
        for sort in SORTS {
            for desc in [false, true] {
                let query = query(sort, desc, status, q, 10);
                let want = expected(&all, sort, desc, status, q);
                let (forward, back) = walk(&mut app, org, &query).await;
                assert_eq!(forward, want, "forward walk of {query}");
                assert_eq!(back, want, "backward walk of {query}");
                assert_eq!(forward.iter().collect::<HashSet<_>>().len(), forward.len(), "{query}");
            }
        }
    }
}

async fn search_results_equal_an_in_memory_filter(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    load_members(&mut app.conn(), 120, now).expect("load");
    let all = members(&app, org);
    for q in
        ["a", "MÜ", "müller", "Son", "member1", "o'b", "%", "_", "@members.example", "zzzz", "é", "garcía", "ANNA M"]
    {
        let query = query("email", false, None, q, 100);
        let want = expected(&all, "email", false, None, q);
        let (found, _) = walk(&mut app, org, &query).await;
        assert_eq!(found, want, "search {q:?}");
    }
    assert!(!expected(&all, "", false, None, "müller").is_empty(), "the data has non-ASCII names");
}

async fn totals_past_ten_thousand_are_capped_and_pages_still_walk(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    load_members(&mut app.conn(), 11_500, now).expect("load");
    let all = members(&app, org);
    let live = all.iter().filter(|m| m.status != "removed").count() as i64;
    let counter: i64 =
        organizations::table.find(org).select(organizations::member_count).first(&mut *app.conn()).expect("counter");
    assert_eq!(counter, live, "the loader keeps the seat counter");

    // The default filter is counted by the seat counter: exact.
    let page = app.get(&format!("/orgs/{org}/users")).await;
    page.assert_status(200);
    assert!(page.body.contains(&format!("of {}", orgportal::domain::group_thousands(live))), "{}", page.body);
    // A status or a search past the cap says so, and keeps walking by cursor.
    for query in ["status=active&sort=name", "q=member&sort=name&dir=desc", "q=members.example&sort=plan"] {
        let page = app.get(&format!("/orgs/{org}/users?{query}")).await;
        page.assert_status(200);
        assert!(page.body.contains("of more than 10,000"), "{query}");
        assert!(link(&page.body, "last").is_none(), "no last page of an uncounted total");
        let second = app.get(&link(&page.body, "next").expect("a next page")).await;
        let third = app.get(&link(&second.body, "next").expect("a third page")).await;
        let back = app.get(&link(&third.body, "prev").expect("a previous page")).await;
        assert_eq!(row_ids(&back.body, "account"), row_ids(&second.body, "account"), "{query}");
        assert!(third.body.contains("Showing 51–75 of more than 10,000"), "{query}");
    }
    let want = expected(&all, "name", true, Some("active"), "member");
    let page = app.get(&format!("/orgs/{org}/users?status=active&q=member&sort=name&dir=desc&page=3")).await;
    assert_eq!(row_ids(&page.body, "account"), want[50..75].to_vec(), "a numbered page skips rows");
    // The last page of an exact total reads the reversed order.
    let want = expected(&all, "email", false, Some("invited"), "");
    let pages = (want.len() as i64 + 24) / 25;
    let page = app.get(&format!("/orgs/{org}/users?status=invited&sort=email&page=999999")).await;
    assert_eq!(row_ids(&page.body, "account"), want[((pages - 1) * 25) as usize..].to_vec());
    // A page number past the end of a capped total shows the last real page.
    let want = expected(&all, "quota", false, Some("active"), "");
    let page = app.get(&format!("/orgs/{org}/users?status=active&sort=quota&page=100000")).await;
    page.assert_status(200);
    let last = want.len() % 25;
    let last = if last == 0 { 25 } else { last };
    assert_eq!(row_ids(&page.body, "account"), want[want.len() - last..].to_vec());
}

async fn counters_equal_true_counts_after_concurrent_adds_and_removes(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    load_members(&mut app.conn(), 40, now).expect("load");
    let doomed: Vec<i64> = members(&app, org)
        .into_iter()
        .filter(|m| m.status == "active" && m.email != ADMIN_EMAIL)
        .map(|m| m.account_id)
        .take(6)
        .collect();
    // Room for the racers' quota whatever the organization had.
    diesel::update(organizations::table.find(org))
        .set(organizations::quota_gb.eq(organizations::quota_allocated_gb + 100))
        .execute(&mut *app.conn())
        .expect("quota");
    let racers = doomed.len();
    let barrier = Arc::new(Barrier::new(racers));
    let mut clients = Vec::new();
    for _ in 0..racers {
        let mut client = app.client();
        client.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_redirect("/");
        client.get(&format!("/orgs/{org}/users/new")).await.assert_status(200);
        clients.push(client);
    }
    let races = clients.iter_mut().zip(&doomed).enumerate().map(|(n, (client, doomed))| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            let email = format!("racer{n}@example.com");
            let added = client.post(&format!("/orgs/{org}/users"), &[("email", &email), ("quota_gb", "1")]).await;
            let removed = client.post(&format!("/orgs/{org}/users/{doomed}/remove"), &[]).await;
            (added.status.as_u16(), removed.status.as_u16())
        }
    });
    for outcome in futures_util::future::join_all(races).await {
        assert_eq!(outcome, (303, 303));
    }
    let all = members(&app, org);
    let live: Vec<&Member> = all.iter().filter(|m| m.status != "removed").collect();
    let (counter, allocated): (i64, i64) = organizations::table
        .find(org)
        .select((organizations::member_count, organizations::quota_allocated_gb))
        .first(&mut *app.conn())
        .expect("counters");
    assert_eq!(counter, live.len() as i64);
    assert_eq!(allocated, live.iter().map(|m| m.quota_gb).sum::<i64>());
    let (shown, _) = walk(&mut app, org, "per_page=25").await;
    assert_eq!(shown, expected(&all, "", false, None, ""));
}

async fn junk_input_never_fails_the_list(mut app: TestApp) {
    app.login_as_admin().await;
    let org = default_org(&app);
    let now = app.clock.now();
    load_members(&mut app.conn(), 30, now).expect("load");
    let cursor = |json: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    };
    let junk = [
        "page=99999999999999999999999&per_page=100".to_owned(),
        "page=-1&per_page=-5&sort=%00&dir=%FF".to_owned(),
        "q=%00&status=active".to_owned(),
        "q=%E2%80%AE&sort=name".to_owned(),
        "q=%ZZ%&sort=flags".to_owned(),
        "q=%22%22%22&sort=plan".to_owned(),
        "q=a*b+OR+c&sort=email".to_owned(),
        format!("q={}", "x".repeat(5_000)),
        "after=%%%&before=@@@".to_owned(),
        format!("sort=email&after={}", cursor(r#"{"a":true,"k":{"Text":"a\u0000b"},"i":1,"p":2}"#)),
        format!(
            "sort=quota&after={}",
            cursor(r#"{"a":true,"k":{"Int":9223372036854775807},"i":9223372036854775807,"p":2}"#)
        ),
        format!("sort=added&before={}", cursor(r#"{"a":false,"k":{"Time":"9999-12-31T23:59:59.999999"},"i":1,"p":3}"#)),
        format!("after={}", cursor(r#"{"a":true,"k":{"Time":"+262143-01-01T00:00:00.000000"},"i":1,"p":2}"#)),
        format!(
            "sort=flags&after={}",
            cursor(r#"{"a":true,"k":{"Int":-9223372036854775808},"i":1,"p":1000000000000}"#)
        ),
        format!("after={}", cursor(&"[".repeat(10_000))),
        "status=removed&sort=status&dir=desc&page=2".to_owned(),
    ];
    for query in junk {
        for path in [format!("/orgs/{org}/users?{query}"), format!("/orgs/{org}/users.csv?{query}")] {
            let response = app.get(&path).await;
            assert!([200, 422].contains(&response.status.as_u16()), "{path:.200}: {}", response.status);
        }
    }
}
