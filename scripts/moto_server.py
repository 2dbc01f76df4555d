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

Kinesis put cost. moto finds a shard's last sequence number by listing all
its records, on every record put: a 200,000-record burst took ten minutes to
put. Here the first and last sequence numbers are read from the ends of the
shard's ordered records.

Usage is moto_server's: python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""

import copy

import moto.dynamodb.models as dynamodb
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

# The records are keyed by sequence number, in order; 0 when there are none.
Shard.get_min_sequence_number = lambda self: next(iter(self.records), 0)
Shard.get_max_sequence_number = lambda self: next(reversed(self.records), 0)

if __name__ == "__main__":
    main()
