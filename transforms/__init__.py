"""Pure functions over values: decoding, cleaning, annotation post-processing, rows and checks.

No Prefect, no file or database I/O here.
"""
