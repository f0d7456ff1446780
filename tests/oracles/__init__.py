"""Oracles written here but independent of splitcost: they measure real executions."""
