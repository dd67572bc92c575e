"""Subcommands of the `kasset` console command that talk to a cluster as a user would (see `kasset.cli`).

Does not: run the operator (`kasset run` execs kopf) or decide anything the operator decides.
"""
