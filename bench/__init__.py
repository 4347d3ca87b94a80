"""Benchmarks, run as scripts (`.venv/bin/python bench/http_bench.py`; see bench/README.md).

A package so that the scripts share their parts (bench.runtime, bench.servers, bench.load,
bench.report, ...) and, through tests.support.gunicorn, the gunicorn wrapper of the tests.
"""
