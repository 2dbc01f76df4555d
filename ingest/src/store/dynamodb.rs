//! The live state in one DynamoDB table (single-table design, see
//! `docs/dynamodb.md`), for Lambdas that run side by side on many shards.
//!
//! Reads are consistent `BatchGetItem`s of exactly the keys a batch needs.
//! Every outcome is written with the conditions that make concurrent batches
//! safe, in `TransactWriteItems` of up to 100 actions: the event id item only
//! if absent (first writer wins), presence only if it is still what the
//! decision saw, an admin entity only if its stored version is not newer.

use std::collections::HashMap;
use std::time::Duration;

use accesslake_model::{AdminRecord, Decision};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType,
    KeysAndAttributes, Put, ScalarAttributeType, TransactWriteItem,
};

use super::{codec, outcome};
use crate::batch::{BatchStore, Stored, Write, WriteError};
use crate::state::{EntityRef, State};
use crate::{Error, Result};

type Item = HashMap<String, AttributeValue>;

/// Most keys one `BatchGetItem` may name.
const GET_BATCH: usize = 100;
/// Most actions one `TransactWriteItems` may hold.
const TRANSACTION_ACTIONS: usize = 100;
/// Stay well under the 4 MB a transaction may carry.
const TRANSACTION_BYTES: usize = 3 << 20;
/// Rounds of `UnprocessedKeys` before giving up as throttled.
const GET_ROUNDS: u32 = 8;

/// Error codes DynamoDB returns for work that can succeed later.
const RETRYABLE_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "LimitExceededException",
];

/// The DynamoDB [`BatchStore`].
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The dimensions of the live state (zones, doors, employees, cards and
    /// grants in force; no presence, no decided events), for snapshots: one
    /// consistent paginated Scan. A Scan reads every item of the table, the
    /// decided scans too, so it is for a nightly job, never the hot path.
    pub async fn dimensions(&self) -> Result<State> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .filter_expression("sk IN (:zone, :door, :employee, :card) OR begins_with(sk, :grant)")
            .expression_attribute_values(":zone", s("zone"))
            .expression_attribute_values(":door", s("door"))
            .expression_attribute_values(":employee", s("employee"))
            .expression_attribute_values(":card", s("card"))
            .expression_attribute_values(":grant", s("grant#"))
            .into_paginator()
            .send();
        let mut state = State::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("Scan", e))?;
            for item in page.items() {
                let (pk, sk) = (text(item, "pk")?, text(item, "sk")?);
                let (kind, a, b) = match sk.strip_prefix("grant#") {
                    Some(zone) => ("grant", pk.strip_prefix("employee#"), zone),
                    None => (
                        sk,
                        pk.strip_prefix(sk).and_then(|p| p.strip_prefix('#')),
                        "",
                    ),
                };
                let Some(a) = a else {
                    return Err(Error::Corrupt {
                        kind: "item",
                        detail: format!("key {pk:?}/{sk:?}"),
                    });
                };
                // A revoked grant keeps its item, without a value.
                if let Some(AttributeValue::S(v)) = item.get("value") {
                    codec::decode_into(&mut state, kind, a, b, v.as_bytes())?;
                }
            }
        }
        Ok(state)
    }

    /// Creates the table as `infra/` does (on-demand, `pk`/`sk` strings) and
    /// waits until it is active; for tests and a first local setup.
    pub async fn create_table(&self) -> Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| Error::Store(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| Error::Store(e.to_string()))
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .send()
            .await
            .map_err(|e| classify("CreateTable", e))?;
        Ok(())
    }

    /// Consistent reads of `keys`, in rounds of 100 with unprocessed keys
    /// retried after a growing pause.
    async fn get_many(&self, keys: Vec<Item>) -> Result<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(GET_BATCH) {
            let mut pending = chunk.to_vec();
            let mut round = 0;
            while !pending.is_empty() {
                if round == GET_ROUNDS {
                    return Err(Error::Unavailable(format!(
                        "BatchGetItem: {} keys still unprocessed after {GET_ROUNDS} rounds",
                        pending.len()
                    )));
                }
                if round > 0 {
                    tokio::time::sleep(backoff(round)).await;
                }
                round += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| Error::Store(e.to_string()))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| classify("BatchGetItem", e))?;
                if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                    found.extend(items);
                }
                if let Some(left) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    pending = left.keys;
                }
            }
        }
        Ok(found)
    }

    /// The stored JSON under `attr` of each `kind#id` item, by id.
    async fn stored(
        &self,
        kind: &str,
        ids: &[&str],
        attr: &str,
    ) -> Result<HashMap<String, String>> {
        let mut unique: Vec<&str> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let keys = unique
            .iter()
            .map(|id| key(&format!("{kind}#{id}"), kind))
            .collect();
        let mut by_id = HashMap::new();
        for item in self.get_many(keys).await? {
            let pk = text(&item, "pk")?;
            let id = pk.strip_prefix(kind).and_then(|p| p.strip_prefix('#'));
            if let (Some(id), Ok(v)) = (id, text(&item, attr)) {
                by_id.insert(id.to_string(), v.to_string());
            }
        }
        Ok(by_id)
    }

    /// Writes `actions` as one transaction. On a lost condition, the index
    /// (into `actions`) of the first action that failed.
    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<(), (Option<usize>, Error)> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) =
            e.as_service_error()
        {
            let reasons = c.cancellation_reasons();
            let failed = reasons
                .iter()
                .position(|r| r.code().is_some_and(|code| code != "None"));
            let code = failed
                .and_then(|i| reasons[i].code())
                .unwrap_or("unknown")
                .to_string();
            let error = match code.as_str() {
                "ConditionalCheckFailed" | "TransactionConflict" => {
                    Error::Conflict(format!("TransactWriteItems: {code}"))
                }
                c if RETRYABLE_CODES.contains(&c) || c == "ThrottlingError" => {
                    Error::Unavailable(format!("TransactWriteItems: {code}"))
                }
                _ => Error::Store(format!("TransactWriteItems cancelled: {code}")),
            };
            return Err((failed, error));
        }
        Err((None, classify("TransactWriteItems", e)))
    }
}

fn backoff(round: u32) -> Duration {
    Duration::from_millis(25u64 << round.min(6))
}

/// Maps an SDK error to retryable or not, once for every operation.
fn classify<E>(op: &str, e: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if RETRYABLE_CODES.contains(&code) {
                Error::Unavailable(format!("{op}: {code}"))
            } else {
                Error::Store(format!("{op}: {}", DisplayErrorContext(&e)))
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            Error::Unavailable(format!("{op}: {}", DisplayErrorContext(&e)))
        }
        _ => Error::Store(format!("{op}: {}", DisplayErrorContext(&e))),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn text<'a>(item: &'a Item, attr: &str) -> Result<&'a str> {
    match item.get(attr) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(Error::Corrupt {
            kind: "item",
            detail: format!("attribute {attr} is not a string"),
        }),
    }
}

/// The (pk, sk) of an entity (docs/dynamodb.md).
pub fn entity_key(e: &EntityRef) -> (String, String) {
    match e {
        EntityRef::Zone(id) => (format!("zone#{id}"), "zone".into()),
        EntityRef::Door(id) => (format!("door#{id}"), "door".into()),
        EntityRef::Employee(id) => (format!("employee#{id}"), "employee".into()),
        EntityRef::Card(id) => (format!("card#{id}"), "card".into()),
        EntityRef::Grant(emp, zone) => (format!("employee#{emp}"), format!("grant#{zone}")),
        EntityRef::Presence(emp, zone) => (format!("employee#{emp}"), format!("inside#{zone}")),
    }
}

/// The transaction actions of one write, the items they touch, and their size.
struct Actions {
    actions: Vec<TransactWriteItem>,
    touched: Vec<(String, String)>,
    bytes: usize,
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Store(e.to_string())
}

/// A conditional put of `item` as one transaction action.
fn put_if(
    table: &str,
    item: Item,
    condition: &str,
    values: Option<(&str, AttributeValue)>,
) -> Result<TransactWriteItem> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    if let Some((name, value)) = values {
        put = put.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(build_error)?)
        .build())
}

impl Actions {
    fn push(&mut self, action: TransactWriteItem, pk: String, sk: String, bytes: usize) {
        self.actions.push(action);
        self.bytes += pk.len() + sk.len() + bytes;
        self.touched.push((pk, sk));
    }
}

fn actions(table: &str, w: &Write) -> Result<Actions> {
    const ABSENT: &str = "attribute_not_exists(pk)";
    let mut out = Actions {
        actions: Vec::new(),
        touched: Vec::new(),
        bytes: 0,
    };
    // The outcome item: first writer wins.
    let (pk, sk, attr, body) = match w {
        Write::Entry { decision, .. } => (
            format!("entry#{}", decision.row.event_id),
            "entry",
            "decision",
            outcome::encode_decision(decision),
        ),
        Write::Admin { record, .. } => (
            format!("admin#{}", record.row.event_id),
            "admin",
            "record",
            outcome::encode_admin(record),
        ),
    };
    let size = body.len();
    let mut item = key(&pk, sk);
    item.insert(attr.into(), s(body));
    out.push(put_if(table, item, ABSENT, None)?, pk, sk.into(), size);

    match w {
        Write::Entry {
            presence: Some(p), ..
        } => {
            let (pk, sk) = entity_key(&EntityRef::Presence(
                p.employee_id.clone(),
                p.zone_id.clone(),
            ));
            // Presence moves only from what the decision saw.
            let action = if p.inside {
                put_if(table, key(&pk, &sk), ABSENT, None)?
            } else {
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(table)
                            .set_key(Some(key(&pk, &sk)))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .map_err(build_error)?,
                    )
                    .build()
            };
            out.push(action, pk, sk, 0);
        }
        Write::Admin {
            entity: Some(e), ..
        } => {
            let (pk, sk) = entity_key(&e.entity);
            let version = AttributeValue::N(e.version.to_string());
            let mut item = key(&pk, &sk);
            item.insert("version".into(), version.clone());
            let mut size = 24;
            if let Some(v) = &e.value {
                let v = String::from_utf8_lossy(v).into_owned();
                size += v.len();
                item.insert("value".into(), s(v));
            }
            // Never back in time: only over an older (or equal) version.
            let action = put_if(
                table,
                item,
                "attribute_not_exists(pk) OR version <= :version",
                Some((":version", version)),
            )?;
            out.push(action, pk, sk, size);
        }
        _ => {}
    }
    Ok(out)
}

#[async_trait]
impl BatchStore for DynamoStore {
    async fn decisions(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<Decision>>>> {
        let stored = self.stored("entry", event_ids, "decision").await?;
        event_ids
            .iter()
            .map(|id| {
                stored
                    .get(*id)
                    .map(|v| outcome::decode_decision(id, v))
                    .transpose()
            })
            .collect()
    }

    async fn admin_records(&self, event_ids: &[&str]) -> Result<Vec<Option<Stored<AdminRecord>>>> {
        let stored = self.stored("admin", event_ids, "record").await?;
        event_ids
            .iter()
            .map(|id| {
                stored
                    .get(*id)
                    .map(|v| outcome::decode_admin(id, v))
                    .transpose()
            })
            .collect()
    }

    async fn load_into(&self, keys: &[EntityRef], state: &mut State) -> Result<()> {
        let by_key: HashMap<(String, String), &EntityRef> =
            keys.iter().map(|e| (entity_key(e), e)).collect();
        let items = self
            .get_many(by_key.keys().map(|(pk, sk)| key(pk, sk)).collect())
            .await?;
        for item in items {
            let k = (
                text(&item, "pk")?.to_string(),
                text(&item, "sk")?.to_string(),
            );
            let Some(&e) = by_key.get(&k) else { continue };
            let (a, b) = e.key();
            match (e, item.get("value")) {
                (EntityRef::Presence(..), _) => {
                    codec::decode_into(state, e.kind(), a, b, &[])?;
                }
                (_, Some(AttributeValue::S(v))) => {
                    codec::decode_into(state, e.kind(), a, b, v.as_bytes())?;
                }
                // A removed entity that keeps its version (a revoked grant).
                _ => {}
            }
            if let Some(AttributeValue::N(v)) = item.get("version") {
                let v = v.parse().map_err(|_| Error::Corrupt {
                    kind: "item",
                    detail: "version is not an integer".into(),
                })?;
                state.versions.insert(e.clone(), v);
            }
        }
        Ok(())
    }

    async fn write(&self, writes: &[Write]) -> Result<(), WriteError> {
        let mut start = 0;
        while start < writes.len() {
            // One transaction: consecutive writes that touch no item twice.
            let mut actions_of: Vec<usize> = Vec::new();
            let mut batch = Vec::new();
            let mut touched = std::collections::HashSet::new();
            let mut bytes = 0;
            let mut end = start;
            while end < writes.len() {
                let Actions {
                    actions: acts,
                    touched: keys,
                    bytes: size,
                } = actions(&self.table, &writes[end]).map_err(|error| WriteError {
                    committed: start,
                    error,
                })?;
                let fits = batch.len() + acts.len() <= TRANSACTION_ACTIONS
                    && bytes + size <= TRANSACTION_BYTES
                    && keys.iter().all(|k| !touched.contains(k));
                if !fits && end > start {
                    break;
                }
                touched.extend(keys);
                bytes += size;
                actions_of.extend(std::iter::repeat_n(end, acts.len()));
                batch.extend(acts);
                end += 1;
            }
            match self.transact(batch).await {
                Ok(()) => start = end,
                Err((failed_action, error)) => {
                    // Nothing of this transaction holds. Commit the writes
                    // before the failing one on their own, then stop there.
                    let failed = failed_action
                        .and_then(|i| actions_of.get(i).copied())
                        .unwrap_or(start);
                    if failed > start {
                        return match self.write(&writes[start..failed]).await {
                            Ok(()) => Err(WriteError {
                                committed: failed,
                                error,
                            }),
                            Err(e) => Err(WriteError {
                                committed: start + e.committed,
                                error: e.error,
                            }),
                        };
                    }
                    return Err(WriteError {
                        committed: start,
                        error,
                    });
                }
            }
        }
        Ok(())
    }
}
