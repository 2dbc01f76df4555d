//! The Glue catalog of the lake, generated from the Arrow schemas of
//! [`Table`]: one external Parquet table per lake table, `dt` as its
//! partition key, and partition projection so Athena finds every day's folder
//! without a crawler or `MSCK REPAIR TABLE`.
//!
//! The same definitions feed `accesslake catalog sync` (through the Glue API)
//! and the CloudFormation template `infra/glue-catalog.json`
//! ([`cloudformation_template`]); a column is never typed twice.

use std::collections::BTreeMap;

use accesslake_model::Table;
use arrow_schema::{DataType, TimeUnit};
use serde_json::{Value as Json, json};

use crate::{Error, Result};

/// Glue's Parquet SerDe, and the Hive input and output formats that go with it.
pub const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
pub const PARQUET_INPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
pub const PARQUET_OUTPUT_FORMAT: &str =
    "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";

/// The first day partition projection offers when none is configured.
pub const DEFAULT_PROJECTION_START: &str = "2024-01-01";

/// Glue limits a column comment to 255 characters.
const MAX_COMMENT: usize = 255;

/// One column of a Glue table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueColumn {
    pub name: String,
    /// The Athena (Hive DDL) type: `string`, `timestamp`, `int`, …
    pub type_name: String,
    pub comment: Option<String>,
}

/// A Glue table definition of one lake table (what Glue calls a `TableInput`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueTable {
    pub name: &'static str,
    pub description: String,
    pub columns: Vec<GlueColumn>,
    pub partition_keys: Vec<GlueColumn>,
    /// `s3://bucket/prefix/<table>/`
    pub location: String,
    pub input_format: &'static str,
    pub output_format: &'static str,
    pub serde: &'static str,
    pub parameters: BTreeMap<String, String>,
}

/// The Athena type of an Arrow type of the lake's schemas. A type with no
/// mapping here is an error, so a new column type cannot reach the catalog
/// unmapped.
pub fn athena_type(t: &DataType) -> Result<&'static str> {
    Ok(match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        DataType::Boolean => "boolean",
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 => "int",
        DataType::Int64 => "bigint",
        DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Date32 => "date",
        DataType::Timestamp(TimeUnit::Millisecond | TimeUnit::Microsecond, _) => "timestamp",
        DataType::Binary | DataType::LargeBinary => "binary",
        other => {
            return Err(Error::Param(format!(
                "no Athena type for the Arrow type {other} (extend glue::athena_type)"
            )));
        }
    })
}

/// Where the lake is and how far back partition projection reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogOptions {
    /// `s3://bucket/prefix/`, always ending in `/`.
    pub root: String,
    /// First `dt` day (`YYYY-MM-DD`); projection runs from it to `NOW`.
    pub projection_start: String,
}

impl CatalogOptions {
    /// Checks `s3://bucket[/prefix]` and a `YYYY-MM-DD` start.
    pub fn new(lake: &str, projection_start: &str) -> Result<Self> {
        let rest = lake.strip_prefix("s3://").ok_or_else(|| {
            Error::Param(format!(
                "the lake for the Glue catalog must be s3://bucket[/prefix], not {lake:?}"
            ))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(Error::Param(format!("{bucket:?} is not an S3 bucket name")));
        }
        let prefix = prefix.trim_end_matches('/');
        let segments_ok = prefix.is_empty()
            || prefix.split('/').all(|s| {
                !s.is_empty()
                    && s != "."
                    && s != ".."
                    && s.chars().all(|c| !c.is_control() && c != '$' && c != '\\')
            });
        if !segments_ok {
            return Err(Error::Param(format!(
                "{prefix:?} is not a usable lake prefix (empty, `.`/`..` segments, `$` or control characters)"
            )));
        }
        if chrono::NaiveDate::parse_from_str(projection_start, "%Y-%m-%d").is_err()
            || projection_start.len() != 10
        {
            return Err(Error::Param(format!(
                "projection start {projection_start:?} is not a YYYY-MM-DD date"
            )));
        }
        let root = if prefix.is_empty() {
            format!("s3://{bucket}/")
        } else {
            format!("s3://{bucket}/{prefix}/")
        };
        Ok(CatalogOptions {
            root,
            projection_start: projection_start.to_string(),
        })
    }
}

/// The Glue definitions of every lake table.
pub fn tables(opts: &CatalogOptions) -> Result<Vec<GlueTable>> {
    Table::ALL
        .into_iter()
        .map(|t| table(t, &opts.root, &opts.projection_start))
        .collect()
}

fn table(t: Table, root: &str, start: &str) -> Result<GlueTable> {
    let schema = t.schema();
    let docs: BTreeMap<&str, &str> = t.column_docs().iter().copied().collect();
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            Ok(GlueColumn {
                name: f.name().clone(),
                type_name: athena_type(f.data_type())?.to_string(),
                comment: docs.get(f.name().as_str()).map(|d| comment(d)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let location = format!("{root}{}/", t.name());
    let parameters = [
        ("classification", "parquet".to_string()),
        ("EXTERNAL", "TRUE".to_string()),
        ("parquet.compression", "ZSTD".to_string()),
        ("projection.enabled", "true".to_string()),
        ("projection.dt.type", "date".to_string()),
        ("projection.dt.format", "yyyy-MM-dd".to_string()),
        ("projection.dt.range", format!("{start},NOW")),
        ("projection.dt.interval", "1".to_string()),
        ("projection.dt.interval.unit", "DAYS".to_string()),
        (
            "storage.location.template",
            format!("{location}dt=${{dt}}/"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let description = if t.is_snapshot() {
        format!(
            "accesslake snapshot table {}: the state as of snapshot_at, one snapshot per day",
            t.name()
        )
    } else {
        format!("accesslake event table {}", t.name())
    };
    Ok(GlueTable {
        name: t.name(),
        description,
        columns,
        partition_keys: vec![GlueColumn {
            name: "dt".into(),
            type_name: "string".into(),
            comment: Some("UTC day of the rows, YYYY-MM-DD (the folder dt=…)".into()),
        }],
        location,
        input_format: PARQUET_INPUT_FORMAT,
        output_format: PARQUET_OUTPUT_FORMAT,
        serde: PARQUET_SERDE,
        parameters,
    })
}

/// At most 255 characters, cut at a character boundary.
fn comment(doc: &str) -> String {
    if doc.chars().count() <= MAX_COMMENT {
        doc.to_string()
    } else {
        let mut s: String = doc.chars().take(MAX_COMMENT - 1).collect();
        s.push('…');
        s
    }
}

impl GlueTable {
    /// The definition in Glue's `TableInput` shape (as CloudFormation's
    /// `AWS::Glue::Table` and the Glue API spell it).
    pub fn table_input(&self) -> Json {
        let cols = |cs: &[GlueColumn]| -> Json {
            cs.iter()
                .map(|c| {
                    let mut o = json!({"Name": c.name, "Type": c.type_name});
                    if let Some(comment) = &c.comment {
                        o["Comment"] = json!(comment);
                    }
                    o
                })
                .collect()
        };
        json!({
            "Name": self.name,
            "Description": self.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": self.parameters,
            "PartitionKeys": cols(&self.partition_keys),
            "StorageDescriptor": {
                "Columns": cols(&self.columns),
                "Location": self.location,
                "InputFormat": self.input_format,
                "OutputFormat": self.output_format,
                "Compressed": false,
                "StoredAsSubDirectories": false,
                "SerdeInfo": {
                    "SerializationLibrary": self.serde,
                    "Parameters": {"serialization.format": "1"},
                },
            },
        })
    }
}

/// The CloudFormation template of the Glue database and every lake table,
/// parameterised by database name, lake bucket, prefix and projection start.
/// `infra/glue-catalog.json` is this template (a test keeps them equal).
pub fn cloudformation_template() -> Result<Json> {
    const ROOT: &str = "s3://${LakeBucket}/${LakePrefix}";
    const START: &str = "${ProjectionStart}";
    let mut resources = serde_json::Map::new();
    resources.insert(
        "Database".into(),
        json!({
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": {"Ref": "AWS::AccountId"},
                "DatabaseInput": {
                    "Name": {"Ref": "DatabaseName"},
                    "Description": "accesslake: the access-control lake (decisions, admin events, rejected records, daily snapshots)",
                },
            },
        }),
    );
    for t in Table::ALL {
        let mut input = table(t, ROOT, START)?.table_input();
        substitute(&mut input);
        resources.insert(
            format!("{}Table", pascal(t.name())),
            json!({
                "Type": "AWS::Glue::Table",
                "Properties": {
                    "CatalogId": {"Ref": "AWS::AccountId"},
                    "DatabaseName": {"Ref": "Database"},
                    "TableInput": input,
                },
            }),
        );
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "accesslake Glue catalog: the lake's tables with partition projection. Generated by `accesslake catalog template` from the lake's Arrow schemas; do not edit by hand.",
        "Parameters": {
            "DatabaseName": {
                "Type": "String",
                "Default": "accesslake",
                "AllowedPattern": "^[a-z0-9_]{1,255}$",
                "Description": "Glue database of the lake tables",
            },
            "LakeBucket": {
                "Type": "String",
                "Description": "S3 bucket of the lake",
            },
            "LakePrefix": {
                "Type": "String",
                "Default": "",
                "AllowedPattern": "^$|^[^$]*/$",
                "Description": "Key prefix of the lake in the bucket: empty, or ending in /",
            },
            "ProjectionStart": {
                "Type": "String",
                "Default": DEFAULT_PROJECTION_START,
                "AllowedPattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                "Description": "First day (YYYY-MM-DD) partition projection offers",
            },
        },
        "Resources": resources,
        "Outputs": {
            "DatabaseName": {"Value": {"Ref": "Database"}},
        },
    }))
}

/// Strings that name template parameters become `Fn::Sub`; Athena's own
/// `${dt}` placeholder is escaped as `${!dt}` so CloudFormation keeps it.
fn substitute(v: &mut Json) {
    match v {
        Json::String(s) if s.contains("${LakeBucket}") || s.contains("${ProjectionStart}") => {
            *v = json!({"Fn::Sub": s.replace("${dt}", "${!dt}")});
        }
        Json::Array(items) => items.iter_mut().for_each(substitute),
        Json::Object(map) => map.values_mut().for_each(substitute),
        _ => {}
    }
}

fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CatalogOptions {
        CatalogOptions::new("s3://lake-bucket/acme/lake", "2025-01-01").unwrap()
    }

    #[test]
    fn every_table_has_the_arrow_columns_in_order_and_dt_as_partition() {
        for (t, g) in Table::ALL.iter().zip(tables(&opts()).unwrap()) {
            let schema = t.schema();
            let arrow: Vec<(&str, &str)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().as_str(), athena_type(f.data_type()).unwrap()))
                .collect();
            let glue: Vec<(&str, &str)> = g
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.type_name.as_str()))
                .collect();
            assert_eq!(glue, arrow, "{}", t.name());
            assert_eq!(g.partition_keys.len(), 1);
            assert_eq!(
                (
                    g.partition_keys[0].name.as_str(),
                    g.partition_keys[0].type_name.as_str()
                ),
                ("dt", "string")
            );
            assert!(g.columns.iter().all(|c| c.name != "dt"));
            assert_eq!(
                g.location,
                format!("s3://lake-bucket/acme/lake/{}/", t.name())
            );
            assert_eq!(
                g.parameters["storage.location.template"],
                format!("s3://lake-bucket/acme/lake/{}/dt=${{dt}}/", t.name())
            );
            assert_eq!(g.parameters["projection.dt.range"], "2025-01-01,NOW");
        }
    }

    #[test]
    fn types_map_and_unknown_types_are_refused() {
        assert_eq!(
            athena_type(&DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            ))
            .unwrap(),
            "timestamp"
        );
        assert_eq!(athena_type(&DataType::Int8).unwrap(), "tinyint");
        assert_eq!(athena_type(&DataType::Int32).unwrap(), "int");
        assert!(athena_type(&DataType::Duration(TimeUnit::Second)).is_err());
    }

    #[test]
    fn lake_locations_and_dates_are_checked() {
        assert_eq!(
            CatalogOptions::new("s3://b-1.x/", "2024-01-01")
                .unwrap()
                .root,
            "s3://b-1.x/"
        );
        assert_eq!(
            CatalogOptions::new("s3://bkt", "2024-01-01").unwrap().root,
            "s3://bkt/"
        );
        for bad in [
            "/tmp/lake",
            "s3://",
            "s3://UPPER/x",
            "s3://b/../x",
            "s3://bkt/a//b",
            "s3://bkt/${dt}",
            "s3://bkt/a\nb",
        ] {
            assert!(CatalogOptions::new(bad, "2024-01-01").is_err(), "{bad:?}");
        }
        for bad in [
            "2024-1-1",
            "2024-02-30",
            "yesterday",
            "2024-01-01T00:00:00Z",
        ] {
            assert!(CatalogOptions::new("s3://bkt/x", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn comments_fit_glue() {
        let long = "é".repeat(300);
        assert_eq!(comment(&long).chars().count(), 255);
        for g in tables(&opts()).unwrap() {
            for c in g.columns.iter().chain(&g.partition_keys) {
                assert!(c.comment.as_ref().is_some_and(|s| s.chars().count() <= 255));
            }
        }
    }

    /// infra/glue-catalog.json is what CloudFormation deploys: it must be the
    /// generated template, and its columns must be the Arrow schemas.
    #[test]
    fn the_infra_template_is_generated_from_the_schemas() {
        let path = crate::manifest_dir().join("../infra/glue-catalog.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let committed: Json = serde_json::from_str(&text).unwrap();
        assert!(
            committed == cloudformation_template().unwrap(),
            "{} is stale: run `accesslake catalog template > infra/glue-catalog.json`",
            path.display()
        );
        for t in Table::ALL {
            let input = &committed["Resources"][format!("{}Table", pascal(t.name()))]["Properties"]
                ["TableInput"];
            assert_eq!(input["Name"], t.name());
            let columns: Vec<(String, String)> = input["StorageDescriptor"]["Columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["Name"].as_str().unwrap().into(),
                        c["Type"].as_str().unwrap().into(),
                    )
                })
                .collect();
            let schema = t.schema();
            let arrow: Vec<(String, String)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), athena_type(f.data_type()).unwrap().into()))
                .collect();
            assert_eq!(columns, arrow, "{}", t.name());
            assert_eq!(input["PartitionKeys"][0]["Name"], "dt");
        }
    }

    #[test]
    fn template_substitutes_parameters_and_keeps_athenas_placeholder() {
        let t = cloudformation_template().unwrap();
        let input = &t["Resources"]["AdminEventsTable"]["Properties"]["TableInput"];
        assert_eq!(
            input["StorageDescriptor"]["Location"],
            json!({"Fn::Sub": "s3://${LakeBucket}/${LakePrefix}admin_events/"})
        );
        assert_eq!(
            input["Parameters"]["storage.location.template"],
            json!({"Fn::Sub": "s3://${LakeBucket}/${LakePrefix}admin_events/dt=${!dt}/"})
        );
        assert_eq!(
            input["Parameters"]["projection.dt.range"],
            json!({"Fn::Sub": "${ProjectionStart},NOW"})
        );
        assert_eq!(
            t["Resources"].as_object().unwrap().len(),
            1 + Table::ALL.len()
        );
    }
}
