//! Sigma `logsource` keys, normalized for routing (trim + ASCII lowercase, empty = absent).

use serde::{Deserialize, Serialize};

/// The routing-relevant part of a Sigma rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSource {
    /// `logsource.product` (e.g. `windows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// `logsource.category` (e.g. `process_creation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `logsource.service` (e.g. `security`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

fn norm(v: Option<&str>) -> Option<String> {
    v.map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

impl LogSource {
    /// Build a logsource from raw values; each is trimmed and lowercased, empty means absent.
    pub fn new(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Self {
        LogSource {
            product: norm(product),
            category: norm(category),
            service: norm(service),
        }
    }

    /// The same logsource with every key trimmed and lowercased (empty values dropped).
    pub fn normalized(&self) -> Self {
        LogSource::new(
            self.product.as_deref(),
            self.category.as_deref(),
            self.service.as_deref(),
        )
    }

    /// A stable display key `product/category/service` with `-` for absent parts.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.product.as_deref().unwrap_or("-"),
            self.category.as_deref().unwrap_or("-"),
            self.service.as_deref().unwrap_or("-")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_whitespace_and_empty() {
        let ls = LogSource::new(Some(" Windows "), Some("Process_Creation"), Some("  "));
        assert_eq!(ls.product.as_deref(), Some("windows"));
        assert_eq!(ls.category.as_deref(), Some("process_creation"));
        assert_eq!(ls.service, None);
        assert_eq!(ls.key(), "windows/process_creation/-");
    }
}
