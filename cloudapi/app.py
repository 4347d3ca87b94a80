"""The application factory."""

import os
import secrets

from flask import Flask
from flask.sessions import SessionInterface

from cloudapi import config as config_module
from cloudapi.api import errors as api_errors
from cloudapi.api.json_provider import FastJSONProvider
from cloudapi.db import Database
from cloudapi.flagging.launches import for_flags_file as load_launches
from cloudapi.services.catalog import Catalog


def create_app(config=None):
    """Create and configure an instance of the cloudapi Flask application."""
    app = Flask(
        __name__,
        instance_path=_instance_path(config),
        instance_relative_config=True,
        static_folder=None,
    )
    app.json = FastJSONProvider(app)  # orjson where its bytes are the stdlib's
    app.json.sort_keys = False
    app.config.from_mapping(config_module.DEFAULTS)
    app.config.from_mapping(config_module.from_environ())
    app.config.from_mapping(config or {})
    if not app.config["DATABASE_URL"]:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "cloudapi.sqlite")
        app.config["DATABASE_URL"] = f"sqlite:///{path}"

    if not app.config["BROKER_URL"]:
        from cloudapi.jobs import broker

        os.makedirs(app.instance_path, exist_ok=True)
        app.config["BROKER_URL"] = broker.default_url(app.instance_path)
    if not app.config["AGENT_STATE_DIR"]:
        app.config["AGENT_STATE_DIR"] = os.path.join(app.instance_path, "agents")
    app.secret_key = app.config.get("SECRET_KEY") or _instance_secret(app)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    app.session_interface = NoFlaskSession()
    database = Database(
        app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"],
        connect_timeout=app.config["DATABASE_CONNECT_TIMEOUT"],
        statement_timeout=app.config["DATABASE_STATEMENT_TIMEOUT"],
        pool_timeout=app.config["DATABASE_POOL_TIMEOUT"],
    )  # fmt: skip
    app.extensions["cloudapi.db"] = database
    launches = load_launches(app.config["FLAGS_FILE"])
    app.extensions["cloudapi.launches"] = launches
    app.extensions["cloudapi.catalog"] = Catalog(
        database, ttl=app.config["CATALOG_TTL"], launches=launches
    )

    api_errors.init_app(app)
    from cloudapi import api
    from cloudapi.flagging import client as flags

    flags.init_app(app)

    api.init_app(app)
    return app


class NoFlaskSession(SessionInterface):
    """No Flask session: nothing here uses one (the console keeps its sessions in the
    database, api/admin_session.py), and opening Flask's signed-cookie session would cost
    every request a signer and a cookie parse. Flask uses its null session instead, which
    refuses to be written."""

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response):
        return None


def _instance_path(config):
    """Where this server writes (SQLite file, broker file, agent state, secret key).

    `INSTANCE_PATH` in the config or CLOUDAPI_INSTANCE_PATH in the environment; by default
    Flask's `instance/` beside the package. Two servers from one checkout need two folders.
    """
    path = (config or {}).get("INSTANCE_PATH") or os.environ.get("CLOUDAPI_INSTANCE_PATH")
    return os.path.abspath(path) if path else None


def _instance_secret(app):
    """A secret key kept in the instance folder, shared by every worker on this machine."""
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    with open(path) as src:
        return src.read().strip()
