"""Each fake of tests/support/fakes.py typed as its port: read by mypy (make typecheck), never imported.

A fake that drifts from rh_common.services.ports (a method missing, renamed, or with another signature) is then
a type error here, as an adapter that drifts is one in rh_common.runtime.wiring, which types what it builds as
the ports. tests/unit/test_type_check.py shows that such a drift fails the check.
"""

from rh_common.services import ports
from tests.support import fakes

_inventories = fakes.FakeInventories()
inventories: ports.Inventories = _inventories
resend_records: ports.ResendRecords = fakes.FakeResendRecords(_inventories, fakes.FakeQuotes())
service_types: ports.ServiceTypes = fakes.FakeServiceTypes({})
retries: ports.RetryScheduler = fakes.FakeRetries()
quotes: ports.Quotes = fakes.FakeQuotes()
batches: ports.BatchRecords = fakes.FakeBatches()
return_helper: ports.ReturnHelper = fakes.FakeReturnHelper()
references: ports.References = fakes.FakeReferences()
order_cancellations: ports.OrderCancellations = fakes.FakeReferences()
