"""Who is calling: a customer account's token, an admin's, or a host agent's."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    token_id: int
    account_id: int | None
    username: str
    email: str
    tags: tuple
    betas: tuple
    scopes: frozenset
    is_admin: bool
    host: str | None = None

    @property
    def is_customer(self):
        return self.account_id is not None

    def allows(self, area, write):
        if "*" in self.scopes:
            return True
        wanted = {f"{area}:read_write"} if write else {f"{area}:read_write", f"{area}:read_only"}
        return bool(self.scopes & wanted)
