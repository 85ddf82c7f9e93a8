//! The `_schema.json` document beside each dataset (contract `dataset_schema`).

use arrow_schema::{DataType, Schema};
use serde_json::{Value, json};

fn physical(dt: &DataType) -> (&'static str, Option<&'static str>) {
    match dt {
        DataType::Int64 => ("INT64", None),
        DataType::Int32 => ("INT32", None),
        DataType::Float64 => ("DOUBLE", None),
        DataType::Boolean => ("BOOLEAN", None),
        DataType::Utf8 | DataType::LargeUtf8 => ("BYTE_ARRAY", Some("STRING")),
        _ => ("BYTE_ARRAY", None),
    }
}

/// Describe `schema`'s columns in order. Columns named in `json_columns` hold JSON text
/// (`encoding: "json"`), the others scalars.
pub fn document(
    schema_id: &str,
    schema_version: &str,
    schema: &Schema,
    json_columns: &[String],
) -> Value {
    let columns: Vec<Value> = schema
        .fields()
        .iter()
        .map(|f| {
            let (p, l) = physical(f.data_type());
            let enc = if json_columns.iter().any(|c| c == f.name()) {
                "json"
            } else {
                "scalar"
            };
            json!({"name": f.name(), "physical_type": p, "logical_type": l,
                   "nullable": f.is_nullable(), "encoding": enc})
        })
        .collect();
    json!({"schema_id": schema_id, "schema_version": schema_version, "columns": columns})
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_schema_document_lists_every_column() {
        let d = crate::raw::schema_document();
        let cols = d["columns"].as_array().unwrap();
        assert_eq!(cols.len(), crate::raw::schema().fields().len());
        assert_eq!(cols[0]["name"], "time");
        assert_eq!(cols[0]["physical_type"], "INT64");
        assert_eq!(cols[1]["logical_type"], "STRING");
        assert_eq!(cols[1]["nullable"], false);
    }
}
