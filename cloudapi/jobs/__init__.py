"""Jobs for host agents: the broker topology and the relay from the outbox to the broker."""
