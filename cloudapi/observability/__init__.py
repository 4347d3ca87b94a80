"""Health and metrics: readiness checks, Prometheus metrics, the relay's and agents' port.

The API serves them as routes (cloudapi/api/health.py, cloudapi/api/metrics.py); the relay
and the host agents, which have no HTTP server of their own, serve them on a small port
of their own (`--health-port`, health_server.py). README "Health and metrics" shows them.
"""
