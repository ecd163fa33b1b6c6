//! 000's lists: Laravel's length-aware paginator (`current_page`, `data`, `per_page`, `total`,
//! `last_page`, the page URLs, `from`, `to`), numbered with `?page=` and sized with
//! `?per_page=`.
//!
//! The native lists are cursor-based and count nothing, so a 000 list walks the native one
//! from the newest item, up to `MAX_LISTED` items, and numbers pages over what it walked:
//! `total` is exact up to `MAX_LISTED`; an account with more sees its newest `MAX_LISTED`.

use std::future::Future;

use serde_json::{Value, json};
use textbird_app::AppError;

use super::{Call, Error};

/// Items per page unless `per_page` says otherwise (Laravel's default).
const PER_PAGE: usize = 15;
const MAX_PER_PAGE: usize = 100;
/// Items a list walks at most.
pub(super) const MAX_LISTED: usize = 10_000;
/// Items asked of a native list at once.
pub(super) const WALK_PAGE: u32 = 1000;

/// Which page a request asks for.
pub(super) struct PageRequest {
    page: usize,
    per_page: usize,
    /// `scheme://host/path` as the client called it.
    path: String,
}

impl PageRequest {
    pub fn read(call: &Call) -> Result<PageRequest, Error> {
        let number = |name: &str, default: usize, max: usize| -> Result<usize, Error> {
            match call.text(name)? {
                None => Ok(default),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| Error::invalid(format!("The {name} must be a whole number from 1 to {max}."))),
            }
        };
        let page = number("page", 1, MAX_LISTED)?;
        let per_page = number("per_page", PER_PAGE, MAX_PER_PAGE)?;
        Ok(PageRequest { page, per_page, path: url(call) })
    }

    /// The positions of this page's items among all of them.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        start..(start + self.per_page).min(total)
    }

    fn url(&self, page: usize) -> String {
        if self.per_page == PER_PAGE {
            format!("{}?page={page}", self.path)
        } else {
            format!("{}?page={page}&per_page={}", self.path, self.per_page)
        }
    }

    /// The paginator around `data` (this page's items, already shown) of `total` items.
    pub fn paginator(&self, data: &[Value], total: usize) -> Value {
        let last_page = total.div_ceil(self.per_page).max(1);
        let range = self.range(total);
        let (from, to) = if range.is_empty() { (None, None) } else { (Some(range.start + 1), Some(range.end)) };
        json!({
            "current_page": self.page,
            "data": data,
            "first_page_url": self.url(1),
            "from": from,
            "last_page": last_page,
            "last_page_url": self.url(last_page),
            "next_page_url": (self.page < last_page).then(|| self.url(self.page + 1)),
            "path": self.path,
            "per_page": self.per_page,
            "prev_page_url": (self.page > 1).then(|| self.url((self.page - 1).min(last_page))),
            "to": to,
            "total": total,
        })
    }
}

/// `scheme://host/path` of the request.
fn url(call: &Call) -> String {
    format!("{}{}", crate::extract::origin::public_base(&call.parts), call.parts.uri.path())
}

/// Every item of a native cursor-based list, newest first, up to `MAX_LISTED`. `fetch` asks
/// for the page after a cursor.
pub(super) async fn walk<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AppError>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) = fetch(cursor.take()).await?;
        out.extend(items);
        match next {
            Some(c) if out.len() < MAX_LISTED => cursor = Some(c),
            _ => break,
        }
    }
    out.truncate(MAX_LISTED);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(page: usize, per_page: usize) -> PageRequest {
        PageRequest { page, per_page, path: "http://h/api/v3/sms".into() }
    }

    #[test]
    fn pages_are_numbered_like_laravel() {
        let p = request(2, 15).paginator(&[json!(1)], 31);
        assert_eq!(p["current_page"], 2);
        assert_eq!(p["from"], 16);
        assert_eq!(p["to"], 30);
        assert_eq!(p["last_page"], 3);
        assert_eq!(p["next_page_url"], "http://h/api/v3/sms?page=3");
        assert_eq!(p["prev_page_url"], "http://h/api/v3/sms?page=1");
        assert_eq!(p["last_page_url"], "http://h/api/v3/sms?page=3");
    }

    #[test]
    fn an_empty_list_has_one_empty_page_and_a_page_past_the_end_is_empty() {
        let p = request(1, 15).paginator(&[], 0);
        assert_eq!((p["last_page"].clone(), p["from"].clone(), p["to"].clone()), (json!(1), Value::Null, Value::Null));
        assert!(p["next_page_url"].is_null() && p["prev_page_url"].is_null());
        let r = request(5, 10);
        assert!(r.range(12).is_empty());
        assert_eq!(r.paginator(&[], 12)["prev_page_url"], "http://h/api/v3/sms?page=2&per_page=10");
    }
}
