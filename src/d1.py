"""A small D1 helper: run a statement, get rows back as Python values.

Arguments are handed to ``bind`` through one JSON round trip because the FFI
turns Python ``None`` into ``undefined``, which D1 refuses; JSON gives a real
``null``. Arguments are therefore str, int, float, bool or None (never bytes,
never an int beyond 2**53: Fast.io's 19-digit ids travel as strings).
"""

from __future__ import annotations

import json

from js import JSON
from pyodide.ffi import JsException, to_js


class D1Error(Exception):
    """A D1 statement failed (SQL error, constraint, or the binding itself)."""


def _statement(db: object, sql: str, args: tuple) -> object:
    statement = db.prepare(sql)
    if args:
        statement = statement.bind.apply(statement, JSON.parse(json.dumps(args)))
    return statement


async def run(db: object, sql: str, *args: object) -> int:
    """Run a write; return how many rows it changed (``meta.changes``)."""
    try:
        result = await _statement(db, sql, args).run()
    except JsException as exc:
        raise D1Error(str(exc)) from exc
    return int(result.meta.changes)


async def rows(db: object, sql: str, *args: object) -> list[dict]:
    """All rows of a query, as dicts."""
    try:
        result = await _statement(db, sql, args).all()
    except JsException as exc:
        raise D1Error(str(exc)) from exc
    return result.results.to_py()


async def batch(db: object, statements: list[tuple[str, tuple]]) -> list[int]:
    """Run ``(sql, args)`` statements in one transaction; changes of each."""
    try:
        prepared = to_js([_statement(db, sql, args) for sql, args in statements])
        results = await db.batch(prepared)
    except JsException as exc:
        raise D1Error(str(exc)) from exc
    return [int(result.meta.changes) for result in results]


async def first(db: object, sql: str, *args: object) -> dict | None:
    """The first row of a query, or None."""
    try:
        row = await _statement(db, sql, args).first()
    except JsException as exc:
        raise D1Error(str(exc)) from exc
    return None if row is None else row.to_py()
