"""The Temporal worker: builds the activities with their dependencies and runs MissionWorkflow
and BulkRepairWorkflow."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.bulk import BulkActivities
from activities.mission import MissionActivities
from core.db import Database, make_engine
from core.settings import Settings, get_settings
from core.temporal import connect
from services import bulk, documents, rates
from services.mail import Mailer, OutboxMailer
from services.peppol import sender_for
from services.sendgrid_mailer import SendGridMailer
from services.starter import start_missing_workflows
from workflows.bulk import BulkRepairWorkflow
from workflows.mission import MissionWorkflow

log = logging.getLogger("coopflow.worker")

# Workflows kept in memory between their tasks (the sticky cache). Each cached MissionWorkflow
# costs the worker ~0.2 MB (its sandbox; bench/waiting.py measures it), so caching every waiting
# mission (20,000 here before) would take ~4 GB for workflows that sleep for days. A cache only
# saves the replay of a short history when the next task comes; missions are active for seconds
# (an update, an activity, the next wait), so the cache is sized for the missions active at once
# (~40/s at most on this machine), with headroom; an evicted mission replays when it wakes.
CACHED_WORKFLOWS = 1000
WORKFLOWS_DIR = Path(__file__).resolve().parent / "workflows"


def precompile_workflow_code() -> bool:
    """Write the bytecode of `workflows/` once, at start.

    The workflow sandbox imports `workflows/` afresh for every workflow instance it creates (a
    start, and every replay after an eviction from the cache). Where PYTHONDONTWRITEBYTECODE is
    set (this machine's environment; many images) no import writes the .pyc, so every instance
    compiled workflows/mission.py again, ~15 ms: over half of the worker's CPU while 20,000
    missions settled in bench/waiting.py (py-spy). py_compile writes it whatever that variable
    says; reading a .pyc is never disabled. A read-only tree (the image compiles at build) only
    logs."""
    import compileall

    ok = bool(compileall.compile_dir(str(WORKFLOWS_DIR), quiet=1))
    if not ok:
        log.warning(
            "could not write the bytecode of %s: workflows compile per instance", WORKFLOWS_DIR
        )
    return ok


def cached_workflows() -> int:
    """The sticky cache size; COOPFLOW_MAX_CACHED_WORKFLOWS overrides it (benchmarks compare)."""
    return int(os.environ.get("COOPFLOW_MAX_CACHED_WORKFLOWS", CACHED_WORKFLOWS))


def build_mailer(settings: Settings) -> Mailer:
    """The outbox (embedded default) or SendGrid, as COOPFLOW_MAILER says."""
    if settings.mailer == "sendgrid":
        return SendGridMailer(
            settings.sendgrid_api_key, settings.mail_from, host=settings.sendgrid_host
        )
    return OutboxMailer()


def build_worker(client: Client, db: Database, settings: Settings) -> Worker:
    activities = MissionActivities(
        db, mailer=build_mailer(settings), peppol_sender=sender_for(settings)
    )
    # Bulk runs send each mission's Update through this worker's client.
    bulk_activities = BulkActivities(db, client, settings)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[MissionWorkflow, BulkRepairWorkflow],
        activities=[
            activities.record_step,
            activities.flag_attention,
            activities.record_signature,
            activities.record_client_confirmation,
            activities.record_work_report,
            activities.file_declaration,
            activities.record_skipped_step,
            activities.issue_invoice,
            activities.pay_salary,
            activities.record_dunning_step,
            activities.write_off_invoice,
            activities.cancel_mission,
            activities.send_email,
            activities.prepare_documents,
            bulk_activities.load_bulk_run,
            bulk_activities.apply_bulk_item,
            bulk_activities.finish_bulk_run,
        ],
        max_cached_workflows=cached_workflows(),
    )


async def run(settings: Settings) -> None:
    client = await connect(settings)
    db = Database(make_engine(settings))
    precompile_workflow_code()
    worker = build_worker(client, db, settings)
    documents.use_render_processes(settings.render_processes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info("worker on %s", settings.task_queue)
        sweeper = asyncio.create_task(_sweep(client, db, settings, stop))
        await stop.wait()
        await sweeper
    documents.stop_render_processes()
    await db.dispose()


async def _sweep(client: Client, db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Start, now and then, any mission a crash left committed without its workflow, and any
    bulk run left queued (Temporal down when ops started it); and ask ops for each late-payment
    rate weeks before its period starts (a staff task, made once)."""
    while not stop.is_set():
        try:
            await start_missing_workflows(client, db, settings)
        except Exception:
            log.exception("could not start pending mission workflows; will try again")
        try:
            await bulk.start_queued_runs(client, db, settings)
        except Exception:
            log.exception("could not start queued bulk runs; will try again")
        try:
            for task in await rates.request_rates(db, settings):
                log.info("staff task %s: %s", task.key, task.title % task.params)
        except Exception:
            log.exception("could not open the rate requests; will try again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.sweep_seconds)
        except TimeoutError:
            pass


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # WeasyPrint narrates every step of every PDF at INFO; its warnings still show.
    for noisy in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(run(get_settings()))


if __name__ == "__main__":
    main()
