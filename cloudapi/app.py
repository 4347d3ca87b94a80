"""The application factory."""

import os

from flask import Flask

from cloudapi import config as config_module
from cloudapi import errors
from cloudapi.db import Database
from cloudapi.services.catalog import Catalog


def create_app(config=None):
    """Create and configure an instance of the cloudapi Flask application."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.json.sort_keys = False
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_mapping(config_module.from_environ())
    app.config.from_mapping(config or {})
    if not app.config["DATABASE_URL"]:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "cloudapi.sqlite")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"

    database = Database(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
    app.extensions["cloudapi.db"] = database
    app.extensions["cloudapi.catalog"] = Catalog(database, ttl=app.config["CATALOG_TTL"])

    errors.init_app(app)
    from cloudapi import api
    from cloudapi.flagging import client as flags

    flags.init_app(app)

    api.init_app(app)
    return app
