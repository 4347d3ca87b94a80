"""The account's and profile's records that Linode's clients list: billing, logins, apps."""

from flask import Blueprint

bp = Blueprint("account_records", __name__)
