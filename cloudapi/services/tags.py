"""An account's tags: those created with POST /tags plus every tag on its live instances.

Instance tags live on the instances (instance_tags, written by instance create and
update); explicit tags (db/profile.py Tag) keep a tag listed when nothing carries it.
Deleting a tag removes both, in one transaction, so no instance keeps a deleted tag.
"""

from sqlalchemy import delete, select

from cloudapi.db.instances import Instance, InstanceTag
from cloudapi.db.profile import Tag
from cloudapi.errors import Invalid, NotFound
from cloudapi.schemas import load
from cloudapi.schemas.profile import TagCreateSchema
from cloudapi.services import retrying

FILTERABLE = {"label": "str"}
MAX_LABEL = 50


def _live_instances(account_id):
    return select(Instance.id).where(
        Instance.account_id == account_id, Instance.deleted_at.is_(None)
    )


def labels(session, account_id):
    """Every tag label of the account, sorted."""
    explicit = select(Tag.label).where(Tag.account_id == account_id)
    on_instances = select(InstanceTag.tag).where(
        InstanceTag.instance_id.in_(_live_instances(account_id))
    )
    return sorted(set(session.scalars(explicit)) | set(session.scalars(on_instances)))


def _plausible(label):
    """A label that could exist; anything else is a 404 without touching the database
    (PostgreSQL refuses NUL characters in a query parameter)."""
    return 0 < len(label) <= MAX_LABEL and label.isprintable()


def exists(session, account_id, label):
    if not _plausible(label):
        return False
    if session.get(Tag, (account_id, label)) is not None:
        return True
    query = select(InstanceTag.instance_id).where(
        InstanceTag.tag == label, InstanceTag.instance_id.in_(_live_instances(account_id))
    )
    return session.scalar(query.limit(1)) is not None


def tagged_instances(session, account_id, label):
    """The account's live instances carrying `label`, by id; NotFound for an unknown tag."""
    if not exists(session, account_id, label):
        raise NotFound()
    query = (
        select(Instance)
        .join(InstanceTag, InstanceTag.instance_id == Instance.id)
        .where(
            Instance.account_id == account_id,
            Instance.deleted_at.is_(None),
            InstanceTag.tag == label,
        )
        .order_by(Instance.id)
    )
    return list(session.scalars(query))


def create(database, account_id, body):
    """Create the tag (an existing one is kept) and put it on the Linodes listed.

    Every listed id must be one of the account's live instances, else a 400 naming
    `linodes` and nothing is written.
    """
    data = load(TagCreateSchema(), body)
    label, wanted = data["label"], list(dict.fromkeys(data.get("linodes") or ()))

    def work(session):
        owned = set()
        if wanted:
            query = _live_instances(account_id).where(Instance.id.in_(wanted))
            owned = set(session.scalars(query))
        missing = [i for i in wanted if i not in owned]
        if missing:
            raise Invalid.field("linodes", f"Linode {missing[0]} not found")
        if session.get(Tag, (account_id, label)) is None:
            session.add(Tag(account_id=account_id, label=label))
        have = set()
        if owned:
            query = select(InstanceTag.instance_id).where(
                InstanceTag.tag == label, InstanceTag.instance_id.in_(owned)
            )
            have = set(session.scalars(query))
        session.add_all(InstanceTag(instance_id=i, tag=label) for i in sorted(owned - have))
        session.flush()
        return label

    return retrying.write(database, work)


def delete_tag(database, account_id, label):
    """Delete the tag and take it off every instance of the account; NotFound if unknown."""
    with database.transaction() as session:
        if not exists(session, account_id, label):
            raise NotFound()
        session.execute(delete(Tag).where(Tag.account_id == account_id, Tag.label == label))
        account_instances = select(Instance.id).where(Instance.account_id == account_id)
        session.execute(
            delete(InstanceTag).where(
                InstanceTag.tag == label, InstanceTag.instance_id.in_(account_instances)
            )
        )
