"""The create ceiling's SQL: the rows a create writes, in the fewest round trips.

The real create (services/instances.py, as SQLAlchemy's after_cursor_execute shows it)
writes, in one transaction: the instance, its tags, a public IPv4 and a SLAAC IPv6
address (services/addresses.py), the create job for the host agent and the event the
customer sees (services/outbox.py); a GPU plan also takes a GPU, moves its NUMA node's
counters and generation and records an Allocation (services/reservations.py). Here the
same rows are one statement: a data-modifying CTE keyed by the instance id taken from the
sequence first. A GPU create needs its node first, so it is three: the best-fit node,
locked (FOR UPDATE SKIP LOCKED, in the order of the index ix_numa_nodes_free); then, in a
snapshot taken once the lock is held, the node's first free GPU and the threads its live
allocations hold; then the writes. (Reading the GPU in the locking statement would be
wrong: when the row it locks was changed since that statement's snapshot, PostgreSQL
rechecks the node but not what was joined to it, so two creates could take one GPU.)

Its addresses come from pools of the bench's own (bench/bulk.py CEILING_POOLS), slot =
instance id + offset, so no allocator search: that is the ceiling's privilege.
"""

# Rows written per create, for the table: instance, tags, 2 addresses, job, event; a GPU
# create adds the GPU, its node's counters and the allocation.
STATEMENTS = {"standard": 1, "gpu": 3}


def rows_written(kind, tags):
    return 5 + tags + (3 if kind == "gpu" else 0)


def rows_read(kind):
    return 1 + (2 if kind == "gpu" else 0)  # the RETURNING id; the node, its GPU for a GPU


_WRITES = """
WITH n AS (SELECT nextval(pg_get_serial_sequence('instances', 'id')) AS id),
i AS (
  INSERT INTO instances (id, account_id, label, group_name, type_id, region_id, image_id,
      status, created, updated, deleted_at, host_uuid, has_user_data, watchdog_enabled,
      backups_enabled, backup_day, backup_window, private_ip, swap_size, disk_encryption,
      maintenance_policy, alerts, numa_affinity, host_id)
  SELECT n.id, %(account_id)s, 'linode' || n.id, '', %(type)s, %(region)s, NULL,
      'provisioning', %(now)s, %(now)s, NULL, %(host_uuid)s, false, true, false, NULL, NULL,
      false, 512, 'disabled', 'linode/migrate', %(alerts)s::json, %(numa_affinity)s,
      %(host_id)s
  FROM n RETURNING id),
t AS (INSERT INTO instance_tags (instance_id, tag)
      SELECT n.id, tag FROM n, unnest(%(tags)s::text[]) AS tag),
a AS (INSERT INTO addresses (pool_id, slot, address, instance_id, created)
      SELECT p.pool_id, n.id + %(offset)s, host(p.network + (n.id + %(offset)s)), n.id, %(now)s
      FROM n, (VALUES (%(v4_pool)s, %(v4_net)s::inet), (%(v6_pool)s, %(v6_net)s::inet))
           AS p(pool_id, network)),
j AS (INSERT INTO jobs (id, instance_id, action, payload, host, state, created, sent_at,
          attempts)
      SELECT %(job_id)s, n.id, 'create',
          replace(replace(%(payload)s, '"__ID__"', n.id::text), '__LABEL__', 'linode' || n.id)
          ::json, %(queue)s, 'queued', %(now_us)s, NULL, 0
      FROM n),
e AS (INSERT INTO events (account_id, job_id, action, created, entity_type, entity_id,
          entity_label, status, percent_complete, username, seen, read)
      SELECT %(account_id)s, %(job_id)s, 'linode_create', %(now)s, 'linode', n.id,
          'linode' || n.id, 'scheduled', 0, %(username)s, false, false
      FROM n)
{gpu}SELECT id FROM i
"""
_GPU_WRITES = """, g AS (UPDATE gpus SET instance_id = (SELECT id FROM n)
      WHERE id = %(gpu_id)s AND instance_id IS NULL),
u AS (UPDATE numa_nodes SET gpus_free = gpus_free - 1, threads_free = threads_free - %(vcpus)s,
          memory_free_mb = memory_free_mb - %(memory_mb)s, generation = generation + 1
      WHERE id = %(node_id)s),
r AS (INSERT INTO allocations (instance_id, host_id, numa_node_id, gpu_count, threads,
          memory_mb, created, released_at)
      SELECT n.id, %(host_id)s, %(node_id)s, 1, %(threads)s::json, %(memory_mb)s, %(now)s,
          NULL FROM n)
"""
WRITE_STANDARD = _WRITES.format(gpu="")
WRITE_GPU = _WRITES.format(gpu=_GPU_WRITES)

PLACE_GPU = """
SELECT nn.id, nn.node, nn.host_id, nn.cpus, nn.hugepages_1g, h.hostname, h.uuid,
    h.reserved_cpus
FROM numa_nodes nn
JOIN hosts h ON h.id = nn.host_id
WHERE h.region_id = %(region)s AND h.status = 'active' AND nn.gpus_free >= 1
  AND nn.threads_free >= %(vcpus)s AND nn.memory_free_mb >= %(memory_mb)s
ORDER BY nn.gpus_free, nn.threads_free, nn.memory_free_mb, nn.host_id, nn.node
LIMIT 1
FOR UPDATE OF nn SKIP LOCKED
"""
NODE_GPU = """
SELECT g.id, g.pci_address, g.iommu_functions,
    (SELECT coalesce(json_agg(a.threads), '[]') FROM allocations a
     WHERE a.numa_node_id = %(node_id)s AND a.released_at IS NULL)
FROM gpus g WHERE g.numa_node_id = %(node_id)s AND g.instance_id IS NULL
ORDER BY g.pci_address LIMIT 1
"""
