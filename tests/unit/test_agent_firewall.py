"""The host agent takes `firewall_apply` jobs: the simulated driver records the ruleset."""

import json
import uuid

from cloudapi.agent.consumer import Agent, parse
from cloudapi.agent.driver import SimulatedDriver

RULES = {"inbound": [{"action": "ACCEPT", "protocol": "TCP", "ports": "22",
                      "addresses": {"ipv4": ["192.0.2.0/24"]}}],
         "inbound_policy": "DROP", "outbound": [], "outbound_policy": "ACCEPT",
         "fingerprint": "0123abcd", "version": 2}  # fmt: skip


class Reporter:
    def __init__(self):
        self.reports = []

    def report(self, job_id, status, percent_complete=None, instance_status=None, message=None):
        self.reports.append((job_id, status, instance_status, message))


class Message:
    def __init__(self, body):
        self.body = json.dumps(body).encode()
        self.properties = {"message_id": body["job_id"]}
        self.delivery_info = {"redelivered": False}
        self.acked = self.rejected = False

    def ack(self):
        self.acked = True

    def reject(self, requeue=False):
        self.rejected = True

    def requeue(self):
        raise AssertionError("not expected")


def apply_job(instance_id, rules, firewall_id=5):
    status = None if firewall_id is None else "enabled"
    return {"job_id": str(uuid.uuid4()), "action": "firewall_apply", "instance_id": instance_id,
            "host": "h", "payload": {"instance_id": instance_id, "firewall_id": firewall_id,
                                     "status": status, "rules": rules}}  # fmt: skip


def make_agent(tmp_path):
    driver = SimulatedDriver(tmp_path / "domains", boot_seconds=0)
    return Agent("h", "memory://", Reporter(), driver, tmp_path / "agent")


def test_firewall_apply_is_a_job_the_agent_accepts():
    job = apply_job(7, RULES)
    assert parse(json.dumps(job)) == job


def test_rules_are_recorded_replaced_and_removed(tmp_path):
    agent = make_agent(tmp_path)
    first = Message(apply_job(7, RULES))
    agent.handle(first)
    assert first.acked and not first.rejected
    assert agent.driver.firewall(7) == RULES
    assert agent.reporter.reports == [(first.properties["message_id"], "finished", None, None)]
    assert agent.driver.state(7) is None  # recording rules defines no domain

    changed = {**RULES, "inbound_policy": "ACCEPT", "version": 3}
    agent.handle(Message(apply_job(7, changed)))
    assert agent.driver.firewall(7) == changed
    removed = Message(apply_job(7, None, firewall_id=None))
    agent.handle(removed)
    agent.handle(Message(apply_job(7, None, firewall_id=None)))  # again: still fine
    assert agent.driver.firewall(7) is None
    assert [r[1] for r in agent.reporter.reports] == ["finished"] * 4


def test_rules_sit_beside_a_defined_domain(tmp_path):
    agent = make_agent(tmp_path)
    agent.driver.define(8, "<domain/>")
    agent.driver.start(8)
    agent.handle(Message(apply_job(8, RULES)))
    assert agent.driver.firewall(8) == RULES
    assert agent.driver.state(8) == "running" and agent.driver.history(8) == ["defined", "running"]


def test_a_redelivered_apply_runs_once(tmp_path):
    agent = make_agent(tmp_path)
    job = apply_job(9, RULES)
    agent.handle(Message(job))
    agent.driver.apply_firewall(9, None)  # changed behind the agent's back
    agent.handle(Message(job))  # seen before: reported again, not run again
    assert agent.driver.firewall(9) is None
    assert [r[1] for r in agent.reporter.reports] == ["finished", "finished"]
