"""Alembic environment: migrations run on the connection the library hands over.

The library runs them itself at start (``Library.upgrade``) and ``python ai_music_system.py db
upgrade`` runs the same; on PostgreSQL an advisory lock lets only one process migrate at a time,
on SQLite the write transaction (``BEGIN IMMEDIATE``) does the same.
"""
from __future__ import annotations

from alembic import context

from aimusic.library.models import Base

MIGRATION_LOCK_ID = 730_514_001  # any constant shared by every process of this service

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
    context.run_migrations()
