"""cloudapi: a Linode API v4 compatible cloud API for GPU instances."""

from cloudapi.app import create_app

__all__ = ["create_app"]
