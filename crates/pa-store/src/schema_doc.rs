//! The `_schema.json` document beside each dataset (contract `dataset_schema`).

use arrow_schema::{DataType, Schema};
use serde::{Deserialize, Serialize};

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

/// The `_schema.json` document of a dataset: its columns in order, with their physical and
/// logical types and whether they hold JSON text. Written by the dataset writers, read by
/// [`crate::events::EventReader`].
/// Reading is as lenient as the contract: unknown keys are ignored, a missing column list is
/// empty and a column without `encoding` is a scalar column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSchema {
    /// The dataset kind (`pa.raw_parquet`, `pa.ocsf_events`).
    pub schema_id: String,
    /// Its layout version.
    pub schema_version: String,
    /// Every column, in file order.
    #[serde(default)]
    pub columns: Vec<ColumnSchema>,
    /// The physical layout (normalized store): sizes, sort key, statistics, partitioning.
    /// Absent in stores written before it was recorded: those are unpartitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<crate::layout::StoreLayout>,
}

/// One column of a [`DatasetSchema`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// The column name (a dotted OCSF path in the normalized store).
    pub name: String,
    /// Parquet physical type (`INT64`, `DOUBLE`, `BOOLEAN`, `BYTE_ARRAY`...).
    pub physical_type: String,
    /// Parquet logical type (`STRING`), when there is one.
    pub logical_type: Option<String>,
    /// Whether the column may be null.
    pub nullable: bool,
    /// `scalar`, or `json` for JSON text (arrays, objects, mixed types).
    #[serde(default = "scalar")]
    pub encoding: String,
}

fn scalar() -> String {
    "scalar".to_owned()
}

impl DatasetSchema {
    /// The Arrow schema of the dataset's columns: `INT64`, `INT32`, `DOUBLE`, `BOOLEAN` and
    /// strings (`BYTE_ARRAY`).
    pub fn arrow_schema(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| {
                    let dt = match c.physical_type.as_str() {
                        "INT64" => DataType::Int64,
                        "INT32" => DataType::Int32,
                        "DOUBLE" => DataType::Float64,
                        "BOOLEAN" => DataType::Boolean,
                        _ => DataType::Utf8,
                    };
                    arrow_schema::Field::new(&c.name, dt, c.nullable)
                })
                .collect::<Vec<_>>(),
        )
    }

    /// The names of the columns that hold JSON text.
    pub fn json_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.encoding == "json")
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Describe `schema`'s columns in order. Columns named in `json_columns` hold JSON text
/// (`encoding: "json"`), the others scalars.
pub fn document(
    schema_id: &str,
    schema_version: &str,
    schema: &Schema,
    json_columns: &[String],
) -> DatasetSchema {
    DatasetSchema {
        schema_id: schema_id.to_owned(),
        schema_version: schema_version.to_owned(),
        columns: schema
            .fields()
            .iter()
            .map(|f| {
                let (p, l) = physical(f.data_type());
                let json = json_columns.iter().any(|c| c == f.name());
                ColumnSchema {
                    name: f.name().clone(),
                    physical_type: p.to_owned(),
                    logical_type: l.map(str::to_owned),
                    nullable: f.is_nullable(),
                    encoding: if json { "json" } else { "scalar" }.to_owned(),
                }
            })
            .collect(),
        layout: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_schema_document_lists_every_column() {
        let d = crate::raw::schema_document();
        let cols = &d.columns;
        assert_eq!(cols.len(), crate::raw::schema().fields().len());
        assert_eq!(cols[0].name, "time");
        assert_eq!(cols[0].physical_type, "INT64");
        assert_eq!(cols[1].logical_type.as_deref(), Some("STRING"));
        assert!(!cols[1].nullable);
    }
}
