//! Which connectors may carry a destination: routes by longest matching prefix, then by
//! priority (higher first); the dispatcher takes the first connector that is up.

use textbird_config::RouteSettings;

#[derive(Debug, Clone)]
pub struct Router {
    /// Sorted by prefix length (longest first), then priority (highest first).
    routes: Vec<RouteSettings>,
}

impl Router {
    pub fn new(routes: &[RouteSettings]) -> Self {
        let mut routes: Vec<RouteSettings> = routes
            .iter()
            .map(|r| RouteSettings { prefix: r.prefix.trim_start_matches('+').to_owned(), ..r.clone() })
            .collect();
        routes.sort_by(|a, b| b.prefix.len().cmp(&a.prefix.len()).then(b.priority.cmp(&a.priority)));
        Self { routes }
    }

    /// Connector names for `digits` (E.164 without `+`), best first. Only the longest
    /// matching prefix's routes are candidates, then shorter prefixes as fallbacks.
    pub fn candidates<'a>(&'a self, digits: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.routes.iter().filter(move |r| digits.starts_with(&r.prefix)).map(|r| r.connector.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: &str, connector: &str, priority: i32) -> RouteSettings {
        RouteSettings { prefix: prefix.into(), connector: connector.into(), priority }
    }

    #[test]
    fn longest_prefix_then_priority() {
        let r = Router::new(&[
            route("", "any", 0),
            route("31", "nl", 0),
            route("316", "nl-mobile", 1),
            route("316", "nl-backup", 0),
        ]);
        assert_eq!(r.candidates("31612345678").collect::<Vec<_>>(), ["nl-mobile", "nl-backup", "nl", "any"]);
        assert_eq!(r.candidates("4915112345678").collect::<Vec<_>>(), ["any"]);
        let none = Router::new(&[route("44", "uk", 0)]);
        assert_eq!(none.candidates("31612345678").count(), 0);
    }
}
