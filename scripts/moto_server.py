"""moto's server, with SQS FIFO redelivery kept in order.

moto 5.2.5 counts a message whose visibility timeout has expired as still
in flight until its own turn in the receive loop, so after a batch times out
every message of it but the last is held back and the group resumes from
the batch's last message (received [m0..m9], then after the timeout
[m9, m10, ...]). SQS hands the group back from m0. Here each receive first
lets go of the messages whose timeout has passed, as SQS does, so the tests
see the order a FIFO queue keeps. (A message that times out during a long
poll still takes moto's path; the tests poll without waiting.)

Usage is moto_server's: python scripts/moto_server.py -H 127.0.0.1 -p PORT
"""

from moto.server import main
from moto.sqs.models import SQSBackend

_receive_message = SQSBackend.receive_message


def _receive_in_order(self, queue_name, *args, **kwargs):
    # A message whose visibility timeout has passed is no longer in flight.
    queue = self.get_queue(queue_name)
    queue._pending_messages = {m for m in queue._pending_messages if not m.visible}
    return _receive_message(self, queue_name, *args, **kwargs)


SQSBackend.receive_message = _receive_in_order

if __name__ == "__main__":
    main()
