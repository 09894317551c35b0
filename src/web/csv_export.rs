//! CSV exports: cells made safe for spreadsheets, rows encoded with the `csv` crate (RFC 4180
//! quoting, CRLF line ends), and a response that streams an export one chunk query at a time,
//! so a million rows never sit in memory together.

use std::borrow::Cow;
use std::future::Future;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use futures_util::stream::{self, StreamExt};

use crate::error::AppError;

/// Rows read by one chunk query of a streamed export.
pub const CHUNK_ROWS: i64 = 1_000;

/// A cell as a spreadsheet may safely open it: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading apostrophe, so it is shown as text instead of being run as a
/// formula (DESIGN §3). Everything else is left alone.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `rows` (after an optional header row) as CSV bytes, every cell neutralized. Commas, double
/// quotes and line breaks are quoted as RFC 4180 says; records end with CRLF.
pub fn encode_rows(
    header: Option<&[&str]>,
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    if let Some(header) = header {
        write_neutralized(&mut writer, header)?;
    }
    for row in rows {
        write_neutralized(&mut writer, &row)?;
    }
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

fn write_neutralized<S: AsRef<str>>(writer: &mut csv::Writer<Vec<u8>>, cells: &[S]) -> Result<(), csv::Error> {
    let cells: Vec<Cow<'_, str>> = cells.iter().map(|cell| neutralize(cell.as_ref())).collect();
    writer.write_record(cells.iter().map(|cell| cell.as_bytes()))
}

/// One chunk of an export: its rows, and where the next chunk starts (`None` after the last).
pub struct Chunk<C> {
    pub rows: Vec<Vec<String>>,
    pub next: Option<C>,
}

/// `200 text/csv`, downloaded as `filename`: the `header` row, then the rows of each chunk
/// `fetch` reads, starting at `start` and following each chunk's `next` until one has none.
/// `fetch` runs one chunk query (through `Db::run`), so one chunk at a time is in memory and no
/// connection is held between chunks.
///
/// The first chunk is read before the response starts, so a failure there is an ordinary error
/// page. A later failure is logged and ends the body early: the download is cut short rather
/// than silently complete.
pub async fn stream_csv<C, F, Fut>(
    filename: &str,
    header: &[&str],
    start: C,
    mut fetch: F,
) -> Result<HttpResponse, AppError>
where
    C: 'static,
    F: FnMut(C) -> Fut + 'static,
    Fut: Future<Output = Result<Chunk<C>, AppError>> + 'static,
{
    let first = fetch(start).await?;
    let head = encode_rows(Some(header), first.rows).map_err(encoding_failed)?;
    let rest = stream::unfold((first.next, fetch), |(cursor, mut fetch)| async move {
        let cursor = cursor?;
        let chunk = fetch(cursor)
            .await
            .and_then(|chunk| Ok((encode_rows(None, chunk.rows).map_err(encoding_failed)?, chunk.next)));
        match chunk {
            Ok((bytes, next)) => Some((Ok(web::Bytes::from(bytes)), (next, fetch))),
            Err(error) => {
                log::error!("CSV export cut short: {error:?}");
                Some((Err(actix_web::Error::from(error)), (None, fetch)))
            }
        }
    });
    let body = stream::once(async move { Ok::<_, actix_web::Error>(web::Bytes::from(head)) }).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, attachment(filename)))
        .streaming(body))
}

fn encoding_failed(error: csv::Error) -> AppError {
    AppError::Unexpected(anyhow::Error::new(error).context("CSV encoding failed"))
}

/// `attachment; filename="…"` with only letters, digits, `.`, `-` and `_` kept in the name, so
/// the header cannot be broken out of.
fn attachment(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starters_get_an_apostrophe() {
        for cell in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralize(cell), format!("'{cell}"));
        }
    }

    #[test]
    fn other_cells_are_left_alone() {
        for cell in ["", "Acme", "a=b", "1-2", "x@example.com", " =1", "'quoted", "Ångström"] {
            assert!(matches!(neutralize(cell), Cow::Borrowed(c) if c == cell), "{cell:?}");
        }
    }

    #[test]
    fn rows_are_quoted_and_neutralized() {
        let rows = vec![
            vec!["a,b".to_owned(), "say \"hi\"".to_owned(), "two\nlines".to_owned()],
            vec!["=cmd".to_owned(), String::new(), "plain".to_owned()],
        ];
        let bytes = encode_rows(Some(&["Name", "Note", "More"]), rows).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "Name,Note,More\r\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n'=cmd,,plain\r\n"
        );
        assert_eq!(encode_rows(None, Vec::new()).unwrap(), b"");
    }

    #[actix_web::test]
    async fn chunks_follow_one_header_until_one_has_no_next() {
        let response = stream_csv("x.csv", &["N"], 0u32, |at| async move {
            Ok(Chunk {
                rows: vec![vec![format!("row {at}")], vec![format!("-{at}")]],
                next: (at < 2).then_some(at + 1),
            })
        })
        .await
        .unwrap();
        assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "text/csv; charset=utf-8");
        assert_eq!(response.headers().get(header::CONTENT_DISPOSITION).unwrap(), "attachment; filename=\"x.csv\"");
        let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        assert_eq!(body, "N\r\nrow 0\r\n'-0\r\nrow 1\r\n'-1\r\nrow 2\r\n'-2\r\n");
    }

    #[actix_web::test]
    async fn a_failing_first_chunk_is_an_error_page() {
        let result = stream_csv("x.csv", &["N"], (), |()| async { Err::<Chunk<()>, _>(AppError::NotFound) }).await;
        assert!(matches!(result, Err(AppError::NotFound)));
    }

    #[actix_web::test]
    async fn a_failing_later_chunk_cuts_the_download_short() {
        let response = stream_csv("x.csv", &["N"], 0u32, |at| async move {
            if at == 1 {
                return Err(AppError::Unexpected(anyhow::anyhow!("database gone")));
            }
            Ok(Chunk { rows: vec![vec!["a".to_owned()]], next: Some(at + 1) })
        })
        .await
        .unwrap();
        assert!(actix_web::body::to_bytes(response.into_body()).await.is_err());
    }

    #[test]
    fn the_file_name_cannot_break_the_header() {
        assert_eq!(attachment("organizations.csv"), "attachment; filename=\"organizations.csv\"");
        assert_eq!(attachment("a\"b\r\n.csv"), "attachment; filename=\"a_b__.csv\"");
    }
}
