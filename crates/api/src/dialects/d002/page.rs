//! 002's pagination: `?page=N` (1-based, 15 items a page) and `meta.pagination` as the vendor
//! shows it (`count`, `current_page`, `links` with `previous`/`next` URLs or `[]` when there
//! is neither, `per_page`, `total`, `total_pages`).
//!
//! The native lists are cursor-based: page N is found by walking a list from its start in
//! chunks of up to 1000, so a page may start at most `MAX_DEPTH` items deep (a deeper page is
//! a 422 that points to the native cursor API); `total` is the native count of the list.

use axum::http::request::Parts;
use serde_json::{Map, Value, json};

use super::Error;
use crate::dialects::Params;

pub(super) const PER_PAGE: usize = 15;
/// How many items deep a page may start.
const MAX_DEPTH: usize = 50_000;

/// The page a list request asks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub number: usize,
}

impl Page {
    /// `?page=`; absent or empty is the first.
    pub fn from_query(parts: &Parts) -> Result<Page, Error> {
        let query = Params::query(parts);
        let number = match query.text("page").map_err(Error::invalid)?.map(str::trim) {
            None | Some("") => 1,
            Some(n) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Error::invalid("The page must be a positive integer."))?,
        };
        if (number - 1).saturating_mul(PER_PAGE) > MAX_DEPTH {
            return Err(Error::invalid(format!(
                "Pages start at most {MAX_DEPTH} items deep; use the native /v1 API's cursors beyond."
            )));
        }
        Ok(Page { number })
    }

    /// Items before this page.
    pub fn offset(self) -> usize {
        (self.number - 1) * PER_PAGE
    }

    /// Items up to the end of this page.
    pub fn end(self) -> usize {
        self.offset() + PER_PAGE
    }

    /// This page's items among the first `end()` of a list.
    pub fn slice<T>(self, mut items: Vec<T>) -> Vec<T> {
        items.truncate(self.end());
        items.split_off(self.offset().min(items.len()))
    }

    /// `meta` for this page of `count` items of `total`, whose list is at `path`.
    pub fn meta(self, parts: &Parts, path: &str, count: usize, total: u64) -> Value {
        let total_pages = total.div_ceil(PER_PAGE as u64).max(1);
        let url = |n: u64| format!("{}{path}?page={n}", crate::extract::origin::public_base(parts));
        let current = self.number as u64;
        let mut links = Map::new();
        if current > 1 {
            links.insert("previous".into(), url((current - 1).min(total_pages)).into());
        }
        if current < total_pages {
            links.insert("next".into(), url(current + 1).into());
        }
        // The vendor's empty links are an empty JSON array (a PHP empty array).
        let links = if links.is_empty() { json!([]) } else { Value::Object(links) };
        json!({"pagination": {
            "count": count,
            "current_page": current,
            "links": links,
            "per_page": PER_PAGE,
            "total": total,
            "total_pages": total_pages,
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::{PER_PAGE, Page};

    fn parts(uri: &str) -> axum::http::request::Parts {
        axum::http::Request::get(uri).header("host", "sms.example").body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_first_page_of_111_links_to_the_second() {
        let page = Page::from_query(&parts("/api/v1/sms")).unwrap();
        let meta = page.meta(&parts("/api/v1/sms"), "/api/v1/sms", PER_PAGE, 111);
        let p = &meta["pagination"];
        assert_eq!(p["total_pages"], 8);
        assert_eq!(p["current_page"], 1);
        assert_eq!(p["links"], serde_json::json!({"next": "http://sms.example/api/v1/sms?page=2"}));
    }

    #[test]
    fn a_single_page_has_empty_links_and_the_last_only_previous() {
        let one = Page { number: 1 }.meta(&parts("/"), "/api/v1/contact_group", 3, 3);
        assert_eq!(one["pagination"]["links"], serde_json::json!([]));
        assert_eq!(one["pagination"]["total_pages"], 1);
        let last = Page { number: 2 }.meta(&parts("/"), "/api/v1/contact", 4, 19);
        assert_eq!(last["pagination"]["links"]["previous"], "http://sms.example/api/v1/contact?page=1");
        assert!(last["pagination"]["links"].get("next").is_none());
    }

    #[test]
    fn page_numbers_are_positive_integers_and_slices_fit() {
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(Page::from_query(&parts(&format!("/?page={bad}"))).is_err(), "{bad}");
        }
        assert!(Page::from_query(&parts("/?page=1000000")).is_err());
        let page = Page::from_query(&parts("/?page=2")).unwrap();
        assert_eq!(page.slice((0..40).collect()), (15..30).collect::<Vec<_>>());
        assert_eq!(page.slice((0..20).collect()), (15..20).collect::<Vec<_>>());
        assert!(page.slice((0..10).collect::<Vec<i32>>()).is_empty());
    }
}
