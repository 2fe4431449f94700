"""Jobs run item by item: one row per request, claimed by a runner with a heartbeat.

Revision ID: 0002_job_runs
Revises: 0001_library
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_job_runs"
down_revision = "0001_library"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add cancellation to jobs and the job_items table."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "job_items",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(120), nullable=True),
        sa.Column("heartbeat_at", sa.Float(), nullable=True),
        sa.Column("enqueued_at", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(12), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
    )
    op.create_index("ix_job_items_status", "job_items", ["status", "heartbeat_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("job_items")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested")
