"""GPU host inventory: what a host has, read from Linux."""
