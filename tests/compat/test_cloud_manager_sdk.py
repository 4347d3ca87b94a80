"""Cloud Manager's SDK (npm @linode/api-v4), unmodified, runs its Linode create flow.

The flow (tools/cloud-manager/flow.mjs) makes the calls Cloud Manager's create page makes,
in its order and with its payloads, through the SDK configured the way Cloud Manager's
request.tsx configures it (its API root swapped for ours, so /v4beta calls stay /v4beta).
"""

import pytest

from tests.support import cloud_manager

pytestmark = pytest.mark.slow  # starts a live server and Node


@pytest.fixture(scope="module")
def installed():
    cloud_manager.sdk_script("install")


@pytest.mark.usefixtures("installed")
def test_a_customer_creates_a_linode_through_the_create_page(live_server, app, customer):
    account_id, headers = customer
    options = cloud_manager.flow_options("customer", live_server.url)
    record = cloud_manager.run_in_node(headers["Authorization"].split()[1], options)
    cloud_manager.check_record(record, "customer", app, account_id)


@pytest.mark.usefixtures("installed", "gpu_hosts")
def test_an_employee_creates_a_gpu_linode_with_a_firewall(live_server, app, employee):
    account_id, headers = employee
    options = cloud_manager.flow_options("employee", live_server.url)
    record = cloud_manager.run_in_node(headers["Authorization"].split()[1], options)
    cloud_manager.check_record(record, "employee", app, account_id)
