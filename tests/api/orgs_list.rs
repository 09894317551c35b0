//! The Organizations page against an in-memory model of the same rows: every filter, search
//! field, sort key, direction and page.

use chrono::{Duration, NaiveDate};
use orgportal::domain::fold;

use crate::helpers::{row_ids, SeedOrg, TestApp};
use crate::on_both_backends;

on_both_backends!(
    list_matches_the_model_for_every_combination,
    junk_query_parameters_never_fail,
    search_finds_unicode_case_insensitively,
    manage_link_only_on_administered_rows
);

/// One row of the model.
#[derive(Clone)]
pub struct Model {
    pub id: i64,
    name_key: String,
    contact_key: String,
    quota: i64,
    members: i64,
    created: chrono::NaiveDateTime,
}

const NAMES: &[&str] = &[
    "Acme Research",
    "acme labs",
    "Ångström AB",
    "Zentrum Nord",
    "Müller GmbH",
    "MÜLLERSEN & Co",
    "Øresund Freight",
    "北京科技",
    "Beta_Percent% Ltd",
    "Zeta",
    "alpha",
    "Alpha Two",
    "Érable Inc",
    "Zoë's Bakery",
    "mueller holdings",
    "Delta 9",
    "delta 10",
    "Gamma",
    "Hotel Bravo",
    "Ïle Verte",
    "Ñandú SA",
    "Quartz",
    "Quasar",
    "Radius",
    "Σίγμα ΑΕ",
    "Tango",
    "Umbrella",
    "Vortex",
    "Whisky",
    "Xray",
    "Yankee",
    "Zulu",
    "Café Noir",
    "cafe noir bis",
];

pub fn seed(app: &TestApp) -> Vec<Model> {
    let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let mut model: Vec<Model> = Vec::new();
    // The default organization from the bootstrap is part of the list too.
    let default = app.org_id("Default");
    let default_created: chrono::NaiveDateTime = {
        use diesel::prelude::*;
        use orgportal::db::schema::organizations;
        organizations::table.find(default).select(organizations::created_at).first(&mut *app.conn()).unwrap()
    };
    model.push(Model {
        id: default,
        name_key: "default".into(),
        contact_key: String::new(),
        quota: 0,
        members: 1,
        created: default_created,
    });
    for (i, name) in NAMES.iter().enumerate() {
        let i = i as i64;
        let contact = match i % 4 {
            0 => format!("owner{}@acme.example", i % 3),
            1 => format!("Jürgen.Müller{i}@Example.DE"),
            2 => String::new(),
            _ => format!("ops_{i}%@zentrum.example"),
        };
        // Ties on purpose: quotas, member counts and creation times repeat.
        let org = SeedOrg {
            name,
            contact: &contact,
            quota_gb: (i % 5) * 100,
            members: i % 3,
            created_at: base + Duration::hours(i / 4),
        };
        let id = app.seed_org(&org);
        model.push(Model {
            id,
            name_key: fold(name),
            contact_key: fold(&contact),
            quota: org.quota_gb,
            members: org.members,
            created: org.created_at,
        });
    }
    model
}

pub fn expected(
    model: &[Model],
    q: &str,
    by: &str,
    sort: Option<&str>,
    dir: &str,
    per_page: usize,
    page: usize,
) -> (Vec<i64>, usize) {
    let needle = fold(q.trim());
    let mut rows: Vec<Model> = model
        .iter()
        .filter(|m| {
            needle.is_empty()
                || match by {
                    "name" => m.name_key.contains(&needle),
                    "contact" => m.contact_key.contains(&needle),
                    _ => m.name_key.contains(&needle) || m.contact_key.contains(&needle),
                }
        })
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        let key = match sort {
            Some("name") => a.name_key.as_bytes().cmp(b.name_key.as_bytes()),
            Some("contact") => a.contact_key.as_bytes().cmp(b.contact_key.as_bytes()),
            Some("quota") => a.quota.cmp(&b.quota),
            Some("users") => a.members.cmp(&b.members),
            Some("created") => a.created.cmp(&b.created),
            _ => std::cmp::Ordering::Equal,
        };
        key.then(a.id.cmp(&b.id))
    });
    if sort.is_some() && dir == "desc" {
        rows.reverse();
    }
    let total = rows.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = page.min(pages);
    let ids = rows.iter().skip((page - 1) * per_page).take(per_page).map(|m| m.id).collect();
    (ids, total)
}

async fn list_matches_the_model_for_every_combination(mut app: TestApp) {
    let model = seed(&app);
    app.login_as_admin().await;
    let per_page = 10;
    for q in ["", "müll", "ACME", "%", "_", "café", "北京", "nothing-matches"] {
        for by in ["all", "name", "contact"] {
            for sort in [None, Some("name"), Some("contact"), Some("quota"), Some("users"), Some("created")] {
                for dir in ["asc", "desc"] {
                    for page in [1, 2, 4, 99] {
                        let mut url = format!(
                            "/admin/organizations?q={}&by={by}&per_page={per_page}&page={page}",
                            orgportal::web::urlencode(q)
                        );
                        if let Some(sort) = sort {
                            url.push_str(&format!("&sort={sort}&dir={dir}"));
                        }
                        let response = app.get(&url).await;
                        response.assert_status(200);
                        let (ids, total) = expected(&model, q, by, sort, dir, per_page, page);
                        assert_eq!(row_ids(&response.body, "org"), ids, "{url}");
                        if total == 0 {
                            assert!(response.body.contains("No results"), "{url}");
                        } else {
                            let pages = total.div_ceil(per_page);
                            let shown = page.min(pages);
                            let first = (shown - 1) * per_page + 1;
                            let last = first + ids.len() - 1;
                            assert!(response.body.contains(&format!("Showing {first}–{last} of {total}")), "{url}");
                        }
                    }
                }
            }
        }
    }
}

async fn junk_query_parameters_never_fail(mut app: TestApp) {
    seed(&app);
    app.login_as_admin().await;
    for query in [
        "sort=drop%20table&dir=up",
        "page=-1&per_page=0",
        "page=99999999999999999999999",
        "per_page=1000000",
        "q=%FF%FE&by=%00",
        "q=%27%20OR%201=1%20--",
        "q=%5C",
        "after=garbage&before=%00",
        "q=%3Cscript%3Ealert(1)%3C/script%3E",
        &format!("q={}", "x".repeat(10_240)),
    ] {
        let response = app.get(&format!("/admin/organizations?{query}")).await;
        response.assert_status(200);
        assert!(!response.body.contains("<script>alert"), "search text is escaped");
    }
    let page = app.get("/admin/organizations?per_page=7").await;
    assert_eq!(row_ids(&page.body, "org").len(), 25, "an unknown page size means the default");
}

async fn search_finds_unicode_case_insensitively(mut app: TestApp) {
    seed(&app);
    app.login_as_admin().await;
    let page = app.get("/admin/organizations?q=m%C3%BCller&by=name").await;
    let ids = row_ids(&page.body, "org");
    assert_eq!(ids, vec![app.org_id("Müller GmbH"), app.org_id("MÜLLERSEN & Co")]);
    // `%` and `_` are literal characters, not wildcards.
    let percent = app.get("/admin/organizations?q=%25&by=name").await;
    assert_eq!(row_ids(&percent.body, "org"), vec![app.org_id("Beta_Percent% Ltd")]);
    // Sorted headers say so.
    let sorted = app.get("/admin/organizations?sort=quota&dir=desc").await;
    assert!(sorted.body.contains(r#"aria-sort="descending""#));
    assert!(
        sorted.body.contains(&crate::helpers::escape_html("?sort=quota&dir=asc")),
        "clicking the sorted header again sorts ascending"
    );
    assert!(sorted.body.contains(r#"rel="next""#));
    assert!(!sorted.body.contains(r#"rel="prev""#));
}

async fn manage_link_only_on_administered_rows(mut app: TestApp) {
    seed(&app);
    app.login_as_admin().await;
    let default = app.org_id("Default");
    let page = app.get("/admin/organizations?q=default&by=name").await;
    assert!(page.body.contains(&format!(r#"href="/orgs/{default}""#)));
    let other = app.org_id("Zeta");
    let page = app.get("/admin/organizations?q=zeta&by=name").await;
    assert!(!page.body.contains(&format!(r#"href="/orgs/{other}""#)));
}
