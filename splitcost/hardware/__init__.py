"""Devices, links and runtimes as plain data from one schema; the roofline, transfer time and
payload encodings. Imports no torch."""
