"""Parquet writes and the DuckDB views over them."""
