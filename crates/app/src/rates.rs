//! Prices per message part by destination prefix. The table lives in the database and is
//! cached here; the longest matching prefix wins, else the default price.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use textbird_store::{Rate, Store};
use textbird_types::Money;

use crate::AppError;

/// How often the cache rereads the table, so `textbird rates import` reaches a running server.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct RateTable {
    inner: Arc<RwLock<Table>>,
}

struct Table {
    /// Longest prefix first.
    rates: Vec<Rate>,
    default: i64,
}

impl RateTable {
    pub async fn load(store: &Store, default_price: &str) -> Result<Self, AppError> {
        let default =
            Money::parse(default_price).map_err(|e| AppError::Internal(format!("rates.default_price: {e}")))?;
        let table = RateTable { inner: Arc::new(RwLock::new(Table { rates: Vec::new(), default: default.micros() })) };
        table.reload(store).await?;
        Ok(table)
    }

    pub async fn reload(&self, store: &Store) -> Result<(), AppError> {
        let mut rates = store.list_rates().await?;
        rates.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        self.inner.write().expect("rate table poisoned").rates = rates;
        Ok(())
    }

    /// Price of one part to `digits` (E.164 without `+`).
    pub fn price_per_part(&self, digits: &str) -> Money {
        let t = self.inner.read().expect("rate table poisoned");
        Money(t.rates.iter().find(|r| digits.starts_with(&r.prefix)).map_or(t.default, |r| r.price))
    }
}

/// Reads `prefix,price` rows (a header row is allowed; `+` in prefixes is ignored).
pub fn parse_rates_csv(text: &str) -> Result<Vec<Rate>, AppError> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let mut rates = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| AppError::field("file", format!("row {}: {e}", i + 1)))?;
        let (Some(prefix), Some(price)) = (record.get(0), record.get(1)) else {
            return Err(AppError::field("file", format!("row {}: expected prefix,price", i + 1)));
        };
        if i == 0 && Money::parse(price).is_err() {
            continue; // header
        }
        let prefix = prefix.trim_start_matches('+');
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 15 {
            return Err(AppError::field("file", format!("row {}: prefix must be digits", i + 1)));
        }
        let price = Money::parse(price).map_err(|e| AppError::field("file", format!("row {}: {e}", i + 1)))?;
        if price.micros() < 0 {
            return Err(AppError::field("file", format!("row {}: price must not be negative", i + 1)));
        }
        rates.push(Rate { prefix: prefix.to_owned(), price: price.micros() });
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_and_plus() {
        let r = parse_rates_csv("prefix,price\n+31,0.0700\n316, 0.0650\n").unwrap();
        assert_eq!(r, vec![Rate { prefix: "31".into(), price: 70_000 }, Rate { prefix: "316".into(), price: 65_000 }]);
        assert!(parse_rates_csv("31,abc\n32,x\n").is_err());
        assert!(parse_rates_csv("3a,0.1\n").is_err());
    }
}
