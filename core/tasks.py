from celery import shared_task


@shared_task(bind=True, acks_late=True, ignore_result=True, soft_time_limit=30, time_limit=60)
def record_worker_heartbeat(self) -> None:
    """Beat sends this every minute; /healthz shows when a worker last ran it."""
    from core.services import worker_heartbeat_record

    worker_heartbeat_record(worker=self.request.hostname or "eager")


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120, time_limit=180)
def purge_idempotency_keys() -> None:
    """Beat sends this hourly: Idempotency-Keys hold for 24 hours, then go."""
    from core.api.writes import idempotency_purge

    idempotency_purge()
