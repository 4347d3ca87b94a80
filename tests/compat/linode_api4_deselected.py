"""The linode_api4 integration tests we do not run, each with the reason: one list, here.

Node ids are pytest's, relative to the unpacked sdist (tools/linode-api4-suite). A test
is here only when it needs a product this cloud does not offer (or one a later issue
brings), when its fixture does, or when the suite itself skips it; everything else in
the modules tests/compat/test_linode_api4_suite.py runs must pass. A test named here that
the sdist no longer has fails that test (see `stale`), so the list cannot silently rot.
"""

VOLUMES = "Block Storage volumes: not offered"
VPCS = "VPCs and Linode interfaces: not offered"
VLANS = "VLANs: not offered"
RESERVED_IPS = "reserved IP addresses: not offered"
VPUS = "NETINT VPU (accelerated) plans: not offered"
IMAGE_UPLOADS = "custom image uploads (they need Object Storage): not offered"
DOMAINS = "Domains: not offered"
LKE = "LKE (Kubernetes): not offered"
DATABASES = "Managed Databases: not offered"
LONGVIEW = "Longview: not offered"
OBJECT_STORAGE = "Object Storage: not offered"
BILLING = "billing (invoices, payments): not offered"
K8S_NB_REGION = ("its fixture setup_client_and_linode needs a region with Kubernetes and "
                 "NodeBalancers: neither is offered")  # fmt: skip
SUITE_SKIPS = "skipped by the suite itself"

_LINODE = "test/integration/models/linode/test_linode.py::"
_IFACES = "test/integration/models/linode/interfaces/test_interfaces.py::"
_ACCOUNT = "test/integration/models/account/test_account.py::"
_REGION = "test/integration/models/region/test_region.py::"
_IMAGE = "test/integration/models/image/test_image.py::"
_FILTERS = "test/integration/filters/model_filters_test.py::"
_CLIENT = "test/integration/linode_client/test_linode_client.py::"

DESELECTED = {
    # models/linode: the fixture linode_with_volume_firewall attaches a volume
    _LINODE + "test_get_linode": VOLUMES,
    _LINODE + "test_linode_transfer": VOLUMES,
    _LINODE + "test_linode_firewalls": VOLUMES,
    _LINODE + "test_linode_apply_firewalls": VOLUMES,
    _LINODE + "test_linode_volumes": VOLUMES,
    _LINODE + "test_linode_with_block_storage_encryption": VOLUMES,
    _LINODE + "test_get_vpu": VPUS,
    _LINODE + "TestNetworkInterface::test_create_vpu": VPUS,
    _LINODE + "test_linode_upgrade_interfaces": VPCS,
    _LINODE + "test_linode_interfaces_settings": VPCS,
    _LINODE + "TestNetworkInterface::test_create_vpc": VPCS,
    _LINODE + "TestNetworkInterface::test_update_vpc": VPCS,
    _LINODE + "TestNetworkInterface::test_delete_interface_containing_vpc": VPCS,
    _LINODE + "test_update_linode_with_reserved_ip_in_address": RESERVED_IPS,
    # models/linode/interfaces: every fixture there makes a VPC and its subnet
    _IFACES + "test_linode_create_with_linode_interfaces": VPCS,
    _IFACES + "test_linode_interface_create_public": VPCS,
    _IFACES + "test_linode_interface_update_public": VPCS,
    _IFACES + "test_linode_interface_create_vpc": VPCS,
    _IFACES + "test_linode_interface_update_vpc": VPCS,
    _IFACES + "test_linode_interface_create_vlan": VPCS,
    _IFACES + "test_linode_interface_firewalls": VPCS,
    _IFACES + "test_linode_interfaces_with_reserved_ips[legacy_config]": RESERVED_IPS,
    _IFACES + "test_linode_interfaces_with_reserved_ips[standard_interfaces]": RESERVED_IPS,
    _IFACES + "test_linode_interfaces_with_rdma_vpc_type": VPCS,
    # models/region: all three read /regions/vpc-availability
    _REGION + "test_list_regions_vpc_availability": VPCS,
    _REGION + "test_get_region_vpc_availability_via_object": VPCS,
    _REGION + "test_vpc_availability_available_regions": VPCS,
    # models/account
    _ACCOUNT + "test_get_login": SUITE_SKIPS,
    _ACCOUNT + "test_list_child_accounts": SUITE_SKIPS,
    _ACCOUNT + "test_get_invoice": BILLING,
    _ACCOUNT + "test_get_payments": BILLING,
    # models/tag
    "test/integration/models/tag/test_tag.py::test_get_tag_with_reserved_ip": RESERVED_IPS,
    # models/image: every fixture uploads an image
    _IMAGE + "test_get_image": IMAGE_UPLOADS,
    _IMAGE + "test_image_create_upload": IMAGE_UPLOADS,
    _IMAGE + "test_image_replication": IMAGE_UPLOADS,
    # filters
    _FILTERS + "test_database_type_model_filter": DATABASES,
    _FILTERS + "test_database_engine_model_filter": DATABASES,
    _FILTERS + "test_domain_model_filter": DOMAINS,
    _FILTERS + "test_lke_cluster_model_filter": LKE,
    # linode_client
    _CLIENT + "test_get_account": K8S_NB_REGION,
    _CLIENT + "test_image_create": K8S_NB_REGION,
    _CLIENT + "test_fails_to_create_image_with_non_existing_disk_id": K8S_NB_REGION,
    _CLIENT + "test_fails_to_delete_predefined_images": K8S_NB_REGION,
    _CLIENT + "test_create_linode_instance_with_image": K8S_NB_REGION,
    _CLIENT + "test_fails_to_create_domain_without_soa_email": DOMAINS,
    _CLIENT + "test_get_domains": DOMAINS,
    _CLIENT + "test_get_volume": VOLUMES,
    _CLIENT + "test_create_tag_with_id": VOLUMES,
    _CLIENT + "test_create_tag_with_entities": VOLUMES,
    _CLIENT + "test_create_linode_with_interfaces": VLANS,
    _CLIENT + "test_get_longview_clients": LONGVIEW,
    _CLIENT + "test_client_create_with_label": LONGVIEW,
    _CLIENT + "test_kube_version": LKE,
    _CLIENT + "test_cluster_create_with_api_objects": LKE,
    _CLIENT + "test_fails_to_create_cluster_with_invalid_version": LKE,
    _CLIENT + "test_get_object_storage_clusters": OBJECT_STORAGE,
    _CLIENT + "test_get_keys": OBJECT_STORAGE,
    _CLIENT + "test_keys_create": OBJECT_STORAGE,
}


def by_reason():
    """How many tests each reason keeps out: for the report the suite test prints."""
    counts = {}
    for reason in DESELECTED.values():
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def stale(collected):
    """The listed ids the suite does not have (among `collected`, pytest's node ids)."""
    return sorted(set(DESELECTED) - set(collected))
