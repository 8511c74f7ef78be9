"""Prefect flows and the newsetl command line: wiring, paths and settings."""
