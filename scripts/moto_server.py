"""moto's server, with three corrections the tests depend on. They patch
moto's internals, which is why scripts/requirements-test.txt pins 5.2.5.

SQS FIFO redelivery order. moto 5.2.5 counts a message whose visibility
timeout has expired as still in flight until its own turn in the receive
loop, so after a batch times out every message of it but the last is held
back and the group resumes from the batch's last message (received
[m0..m9], then after the timeout [m9, m10, ...]). SQS hands the group back
from m0. Here each receive first lets go of the messages whose timeout has
passed, as SQS does. (A message that times out during a long poll still
takes moto's path; the tests poll without waiting.)

DynamoDB transaction cost. moto's TransactWriteItems deep-copies the whole
table once per action to roll back on failure, so a 100-action transaction
costs 100 copies of the table: past a few thousand items one transaction
outlasts the client's timeout. Here a transaction backs up only the items
its actions touch and puts them back if it fails; what it checks and
applies is moto's own code, unchanged.

DynamoDB condition cost. moto parses an action's condition expression
from its text every time it meets it, three times for a transaction's put
(validating the request, in the transaction, in the put): a third of the
emulator's time under the load test. Here an expression without attribute
values (the same text for every scan: `attribute_not_exists(pk)`) is parsed
once and its tree, which evaluation only reads, is reused; one with values
is parsed each time, as before.

DynamoDB read cost. moto writes a response by walking the API's model for
every attribute of every item, which made BatchGetItem's responses a sixth
of the emulator's time under the load test. Their items are DynamoDB JSON
already, so here they are written by `json.dumps` (a capacity reads 2
where moto wrote 2.0, the same number to a JSON reader); a response that is
not plain JSON (binary attributes) still goes through moto's writer.

Kinesis put cost. moto finds a shard's last sequence number by listing all
its records, on every record put: a 200,000-record burst took ten minutes to
put. Here the first and last sequence numbers are read from the ends of the
shard's ordered records.

Usage is moto_server's: python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""

import copy
import functools
import json

import moto.dynamodb.comparisons as dynamodb_comparisons
import moto.dynamodb.models as dynamodb
import moto.dynamodb.responses as dynamodb_responses
from moto.dynamodb.models.table import Table
from moto.kinesis.models import Shard
from moto.server import main
from moto.sqs.models import SQSBackend

_receive_message = SQSBackend.receive_message


def _receive_in_order(self, queue_name, *args, **kwargs):
    # A message whose visibility timeout has passed is no longer in flight.
    queue = self.get_queue(queue_name)
    queue._pending_messages = {m for m in queue._pending_messages if not m.visible}
    return _receive_message(self, queue_name, *args, **kwargs)


SQSBackend.receive_message = _receive_in_order


class _CopyKeepingTables:
    """The `copy` module as moto.dynamodb.models sees it: a table is not
    copied (its transactions' whole-table backups become no-ops)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


dynamodb.copy = _CopyKeepingTables()
_transact_write_items = dynamodb.DynamoDBBackend.transact_write_items


def _item_key(table, op_type, op):
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op.get("Key")


def _transact_backing_up_items(self, transact_items):
    backup = []
    try:
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            key = table and _item_key(table, op_type, op)
            if key:
                current = self.get_item(table.name, key)
                attrs = current and copy.deepcopy(current.to_json()["Attributes"])
                backup.append((table.name, key, attrs))
    except Exception:
        # An invalid request: moto's own checks below answer it.
        pass
    try:
        _transact_write_items(self, transact_items)
    except BaseException:
        # Undo in reverse, so an item touched twice ends as it was first.
        for name, key, attrs in reversed(backup):
            if attrs is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, attrs)
        raise


dynamodb.DynamoDBBackend.transact_write_items = _transact_backing_up_items


class _ParsedOnce:
    """moto's condition parser for one expression without attribute values,
    shared by every request that names that expression: parses on the first
    parse(), then hands back the same tree (which evaluation only reads) and
    a fresh copy of the names and values it found (which callers extend)."""

    def __init__(self, expr, names, values):
        self._args = (expr, names, values)
        self._parsed = None

    def parse(self):
        if self._parsed is None:
            parser = _create_parser(*self._args)
            tree = parser.parse()
            self._parsed = (
                tree,
                tuple(parser.expr_attr_names_found),
                tuple(parser.expr_attr_values_found),
            )
        return self._parsed[0]

    @property
    def expr_attr_names_found(self):
        self.parse()
        return list(self._parsed[1])

    @property
    def expr_attr_values_found(self):
        self.parse()
        return list(self._parsed[2])


@functools.lru_cache(maxsize=256)
def _parsed_once(expr, names, empty):
    return _ParsedOnce(expr, None if names is None else dict(names), None if empty is None else {})


def _condition_parser(expr, names, values):
    # Values differ from item to item (and are dicts): parse those each time.
    if values is None or values == {}:
        try:
            empty = None if values is None else ()
            key = (expr, None if names is None else tuple(sorted(names.items())), empty)
            hash(key)
        except (AttributeError, TypeError):
            pass  # not the shape of a valid request: moto's own parse answers it
        else:
            return _parsed_once(*key)
    return _create_parser(expr, names, values)


_create_parser = dynamodb_comparisons.create_condition_expression_parser
for _module in (dynamodb_comparisons, dynamodb, dynamodb_responses):
    _module.create_condition_expression_parser = _condition_parser

_batch_get_item = dynamodb_responses.DynamoHandler.batch_get_item


def _batch_get_item_as_json(self):
    result = _batch_get_item(self)
    try:
        body = json.dumps(result.result)
    except (TypeError, ValueError):
        return result  # not plain JSON (binary values): moto's serializer writes it
    return body, {"Content-Type": "application/x-amz-json-1.0"}


dynamodb_responses.DynamoHandler.batch_get_item = _batch_get_item_as_json

# The records are keyed by sequence number, in order; 0 when there are none.
Shard.get_min_sequence_number = lambda self: next(iter(self.records), 0)
Shard.get_max_sequence_number = lambda self: next(reversed(self.records), 0)

if __name__ == "__main__":
    main()
