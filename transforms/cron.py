"""Cron expressions in words: what is wrong with one that Prefect refused."""

from __future__ import annotations

#: The five fields of a cron expression: name, lowest and highest value, names allowed.
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def cron_problem(expression: str) -> str:
    """What is wrong with a cron expression Prefect refused, in words: the number of fields, or
    the first field whose value is out of range or not a number."""
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        return f"it has {len(fields)} fields; cron needs five: minute hour day-of-month month day-of-week"
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS):
        for item in text.split(","):
            values, _, step = item.partition("/")
            if step and not step.isdigit():
                return f"the {name} field's step {step!r} is not a number"
            for value in ([] if values == "*" else values.split("-")):
                if value.lower() in names:
                    continue
                if not value.isdigit():
                    return f"the {name} field's {value!r} is not a number"
                if not low <= int(value) <= high:
                    return f"the {name} field's {value} is out of range {low}-{high}"
    return "Prefect does not accept it"
