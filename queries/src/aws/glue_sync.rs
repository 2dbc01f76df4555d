//! `accesslake catalog sync`: the Glue database and the lake's tables made
//! equal to [`crate::glue::tables`], through the Glue API. Idempotent: a
//! table already equal to its definition is left alone (no new version).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use serde_json::{Value as Json, json};

use crate::glue::{CatalogOptions, GlueColumn, GlueTable, tables};
use crate::{Error, Result};

/// What a sync did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    /// Updated; the parts of the definition that differed.
    Updated(Vec<String>),
    Unchanged,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub database: String,
    pub database_created: bool,
    pub tables: Vec<(&'static str, Change)>,
}

impl SyncReport {
    /// True when the sync changed nothing.
    pub fn unchanged(&self) -> bool {
        !self.database_created && self.tables.iter().all(|(_, c)| *c == Change::Unchanged)
    }
}

/// Creates or updates `database` and every lake table for `opts`.
/// With `dry_run`, reads and compares only.
pub async fn sync(
    glue: &aws_sdk_glue::Client,
    database: &str,
    opts: &CatalogOptions,
    dry_run: bool,
) -> Result<SyncReport> {
    check_database_name(database)?;
    let wanted = tables(opts)?;
    let database_created = match glue.get_database().name(database).send().await {
        Ok(_) => false,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found_exception()) =>
        {
            if !dry_run {
                glue.create_database()
                    .database_input(
                        DatabaseInput::builder()
                            .name(database)
                            .description("accesslake: the access-control lake (decisions, admin events, rejected records, daily snapshots)")
                            .build()
                            .map_err(build_error)?,
                    )
                    .send()
                    .await
                    .map_err(|e| glue_error("CreateDatabase", e))?;
            }
            true
        }
        Err(e) => return Err(glue_error("GetDatabase", e)),
    };
    let mut report = SyncReport {
        database: database.to_string(),
        database_created,
        tables: Vec::new(),
    };
    for t in wanted {
        let existing = if database_created {
            None
        } else {
            match glue
                .get_table()
                .database_name(database)
                .name(t.name)
                .send()
                .await
            {
                Ok(out) => out.table,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_entity_not_found_exception()) =>
                {
                    None
                }
                Err(e) => return Err(glue_error("GetTable", e)),
            }
        };
        let change = match existing {
            None => {
                if !dry_run {
                    glue.create_table()
                        .database_name(database)
                        .table_input(table_input(&t)?)
                        .send()
                        .await
                        .map_err(|e| glue_error("CreateTable", e))?;
                }
                Change::Created
            }
            Some(current) => {
                let differs = differences(&t.table_input(), &read_back(&current));
                if differs.is_empty() {
                    Change::Unchanged
                } else {
                    if !dry_run {
                        glue.update_table()
                            .database_name(database)
                            .table_input(table_input(&t)?)
                            .send()
                            .await
                            .map_err(|e| glue_error("UpdateTable", e))?;
                    }
                    Change::Updated(differs)
                }
            }
        };
        report.tables.push((t.name, change));
    }
    Ok(report)
}

/// [`sync`] with a Glue client from the standard AWS configuration chain.
pub async fn sync_from_env(
    database: &str,
    opts: &CatalogOptions,
    dry_run: bool,
) -> Result<SyncReport> {
    let sdk = accesslake_model::aws::sdk_config().await;
    sync(&aws_sdk_glue::Client::new(&sdk), database, opts, dry_run).await
}

/// Glue database names: lowercase letters, digits and `_`, at most 255.
fn check_database_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 255
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::Param(format!(
            "{name:?} is not a Glue database name (lowercase letters, digits and _)"
        )));
    }
    Ok(())
}

/// The Glue API's `TableInput` of a definition.
pub fn table_input(t: &GlueTable) -> Result<TableInput> {
    let cols = |cs: &[GlueColumn]| -> Result<Vec<Column>> {
        cs.iter()
            .map(|c| {
                Column::builder()
                    .name(&c.name)
                    .r#type(&c.type_name)
                    .set_comment(c.comment.clone())
                    .build()
                    .map_err(build_error)
            })
            .collect()
    };
    TableInput::builder()
        .name(t.name)
        .description(&t.description)
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(t.parameters.clone().into_iter().collect()))
        .set_partition_keys(Some(cols(&t.partition_keys)?))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(cols(&t.columns)?))
                .location(&t.location)
                .input_format(t.input_format)
                .output_format(t.output_format)
                .compressed(false)
                .stored_as_sub_directories(false)
                .serde_info(
                    SerDeInfo::builder()
                        .serialization_library(t.serde)
                        .parameters("serialization.format", "1")
                        .build(),
                )
                .build(),
        )
        .build()
        .map_err(build_error)
}

/// A table read back from Glue in the shape of [`GlueTable::table_input`],
/// the fields accesslake manages only.
pub fn read_back(t: &aws_sdk_glue::types::Table) -> Json {
    let cols = |cs: &[Column]| -> Json {
        cs.iter()
            .map(|c| {
                let mut o = json!({"Name": c.name(), "Type": c.r#type()});
                if let Some(comment) = c.comment() {
                    o["Comment"] = json!(comment);
                }
                o
            })
            .collect()
    };
    let map = |m: Option<&HashMap<String, String>>| -> BTreeMap<String, String> {
        m.map(|m| m.clone().into_iter().collect())
            .unwrap_or_default()
    };
    let sd = t.storage_descriptor();
    json!({
        "Name": t.name(),
        "Description": t.description(),
        "TableType": t.table_type(),
        "Parameters": map(t.parameters()),
        "PartitionKeys": cols(t.partition_keys()),
        "StorageDescriptor": {
            "Columns": cols(sd.map(|s| s.columns()).unwrap_or_default()),
            "Location": sd.and_then(|s| s.location()),
            "InputFormat": sd.and_then(|s| s.input_format()),
            "OutputFormat": sd.and_then(|s| s.output_format()),
            "Compressed": sd.is_some_and(|s| s.compressed()),
            "StoredAsSubDirectories": sd.is_some_and(|s| s.stored_as_sub_directories()),
            "SerdeInfo": {
                "SerializationLibrary": sd.and_then(|s| s.serde_info()).and_then(|s| s.serialization_library()),
                "Parameters": map(sd.and_then(|s| s.serde_info()).and_then(|s| s.parameters())),
            },
        },
    })
}

/// The paths (`StorageDescriptor.Columns`, `Parameters.projection.dt.range`)
/// where `want` and `have` differ.
pub fn differences(want: &Json, have: &Json) -> Vec<String> {
    let mut out = Vec::new();
    diff("", want, have, &mut out);
    out
}

fn diff(path: &str, want: &Json, have: &Json, out: &mut Vec<String>) {
    match (want, have) {
        (Json::Object(w), Json::Object(h)) if path.is_empty() || path == "StorageDescriptor" => {
            let keys: std::collections::BTreeSet<&String> = w.keys().chain(h.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &p,
                    w.get(k).unwrap_or(&Json::Null),
                    h.get(k).unwrap_or(&Json::Null),
                    out,
                );
            }
        }
        _ if want != have => out.push(path.to_string()),
        _ => {}
    }
}

fn build_error(e: aws_sdk_glue::error::BuildError) -> Error {
    Error::Glue(format!("building a Glue request: {e}"))
}

fn glue_error<E: std::error::Error + 'static>(
    call: &str,
    e: aws_sdk_glue::error::SdkError<E>,
) -> Error {
    Error::Glue(format!(
        "{call}: {}",
        aws_sdk_glue::error::DisplayErrorContext(&e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_parts_that_differ() {
        let opts = CatalogOptions::new("s3://bkt/lake", "2024-01-01").unwrap();
        let t = &tables(&opts).unwrap()[0];
        let want = t.table_input();
        assert!(differences(&want, &want).is_empty());
        let mut have = want.clone();
        have["StorageDescriptor"]["Columns"][0]["Type"] = json!("varchar(10)");
        have["Parameters"]["projection.dt.range"] = json!("2020-01-01,NOW");
        assert_eq!(
            differences(&want, &have),
            ["Parameters", "StorageDescriptor.Columns"]
        );
    }

    #[test]
    fn database_names_are_checked() {
        assert!(check_database_name("accesslake_prod").is_ok());
        for bad in ["", "Accesslake", "a-b", "a;drop", &"x".repeat(256)] {
            assert!(check_database_name(bad).is_err(), "{bad:?}");
        }
    }
}
