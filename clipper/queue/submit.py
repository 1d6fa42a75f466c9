"""``batch --broker``: the clips planned here, those not made yet sent to the queue (one message each), their
progress and results read back from the broker, and the manifest and gallery written here as a local run writes
them. The output folder's lock is held meanwhile, so no local run writes there at the same time."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from clipper.core.errors import ClipperError, Interrupted
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob
from clipper.plan.queue_keys import shown_url
from clipper.queue.broker import ACTOR, QUEUE, BrokerError, RunStore, dramatiq_broker, live_workers, wait_for_broker
from clipper.queue.limits import dead_attempts_files
from clipper.queue.messages import MessageError, clip_message, read_result
from clipper.run.manifest import ClipResult
from clipper.run.outputs import read_manifest
from clipper.run.paths import leftovers, remove
from clipper.run.pool import Runner
from clipper.run.progress import Reporter

POLL = 0.2  # seconds between two looks at the results
PATIENCE_BEATS = 4  # heartbeats the batch waits for a broker that went away (2 minutes by default), 30 s at least
NO_WORKER_AFTER = 5.0  # seconds with no worker's heartbeat before the batch says none is listening


class QueueRunner(Runner):
    """Runs a batch's clips through the queue at ``url`` (connected by ``client``)."""

    def __init__(self, config: Config, reporter: Reporter, client: Any, url: str, *, force: bool = False) -> None:
        super().__init__(config, reporter, force=force)
        self.client = client
        self.url = url
        self.broker = dramatiq_broker(client, config.queue_heartbeat)
        self.stopping = threading.Event()

    def _run(self, jobs: Sequence[ClipJob]) -> list[ClipResult]:
        self.manifest.entries = read_manifest(self.config.output_dir)
        # Temporary files of workers killed mid-clip (this folder's lock is held: no other batch writes here).
        remove(dead_attempts_files(self.client, leftovers(self.config)))
        self.reporter.start(len(jobs))
        results: dict[ClipJob, ClipResult] = {}
        asked: dict[ClipJob, ClipJob] = {}
        todo = self._skip_made(jobs, results, asked)
        by_name = {job.output: asked[job] for job in todo}
        run = secrets.token_hex(8)
        store = RunStore(self.client, run)
        try:
            messages = [self._send(clip_message(job, self.config, run)) for job in todo]
            self._wait(store, messages, by_name, results)
        except KeyboardInterrupt:
            self._cancel(store)
            finished = sum(1 for result in results.values() if result.status != "failed")
            raise Interrupted(f"interrupted: {finished} of {len(jobs)} clip(s) finished and kept; the clips still "
                              "queued are cancelled; run again to finish the rest") from None  # fmt: skip
        finally:
            self.reporter.close()
        store.forget()
        # Of workers killed during this batch (their clips made by others); a second copy of a clip's message still
        # at work keeps its files.
        remove(dead_attempts_files(self.client, leftovers(self.config)))
        return [results[job] for job in jobs]

    def _send(self, data: dict[str, Any]) -> Any:
        from dramatiq import Message

        message: Message[Any] = Message(queue_name=QUEUE, actor_name=ACTOR, args=(data,), kwargs={}, options={})
        self._enqueue(message)
        return message

    def _enqueue(self, message: Any) -> None:
        import redis

        try:
            self.broker.enqueue(message)
        except (redis.RedisError, OSError) as error:
            raise BrokerError(f"broker {shown_url(self.url)}: cannot send the clips ({error})") from None

    def _wait(self, store: RunStore, messages: Sequence[Any], by_name: dict[str, ClipJob],
              results: dict[ClipJob, ClipResult]) -> None:  # fmt: skip
        """Wait for every clip's result, showing the progress workers report; the broker may go away for a while
        (its messages are sent again once it is back: a worker skips a clip made already)."""
        import redis

        pending = {message.args[0]["job"]["output"]: message for message in messages}
        shown: set[str] = set()
        started, said_idle = time.monotonic(), False
        while pending:
            try:
                for name, data in store.results(pending).items():
                    del pending[name]
                    result = self._result(data, by_name[name])
                    results[by_name[name]] = result
                    self.manifest.finish(result)
                self._show_tasks(store.tasks(), shown)
                if not said_idle and time.monotonic() - started > NO_WORKER_AFTER and pending:
                    said_idle = True
                    if not live_workers(self.client, self.broker.broker_id, self.config.queue_heartbeat):
                        self.reporter.message(f"clipper: no worker is taking clips from {shown_url(self.url)} yet: "
                                              f"start one with `clipper worker --broker URL`")  # fmt: skip
            except (redis.RedisError, OSError) as error:
                self._reconnect(error, list(pending.values()))
                continue
            if pending:
                time.sleep(POLL)

    def _reconnect(self, error: Exception, pending: Sequence[Any]) -> None:
        """The broker went away: wait for it, then send the clips without a result again (a broker that kept
        its messages then holds some twice: the worker that takes the second finds the clip made)."""
        patience = max(30.0, PATIENCE_BEATS * self.config.queue_heartbeat)
        self.reporter.message(f"clipper: lost the broker {shown_url(self.url)} ({error}); waiting for it")
        if not wait_for_broker(self.client, patience, self.stopping):
            raise BrokerError(f"broker {shown_url(self.url)}: gone for {patience:g}s; clips made so far are kept; "
                              "run the batch again to finish")  # fmt: skip
        self.reporter.message(f"clipper: the broker is back; sending the {len(pending)} clip(s) not made yet again")
        for message in pending:
            self._enqueue(message)

    def _result(self, data: dict[str, Any], asked: ClipJob) -> ClipResult:
        """A worker's result as this run's: the job as cut (snapped edges), or a failure it could not describe."""
        try:
            result = read_result(data)
        except MessageError as error:
            return ClipResult(asked, "failed", str(data.get("error") or error.message))
        return result if result.job.output == asked.output else replace(result, job=asked)

    def _show_tasks(self, tasks: dict[str, dict[str, Any]], shown: set[str]) -> None:
        """The workers' fetches and cuts in progress as this run's bars."""
        for key in shown - set(tasks):
            self.reporter.task_finished(key)
            shown.discard(key)
        for key, task in tasks.items():
            if key not in shown:
                label = f"{task.get('label')} ({str(task.get('worker', '')).split(':')[0]})"
                self.reporter.task_started(key, label, task.get("total"), str(task.get("unit") or "s"))
                shown.add(key)
            self.reporter.task_progress(key, float(task.get("done") or 0.0), task.get("total"))

    def _cancel(self, store: RunStore) -> None:
        """Ctrl-C: workers take none of this batch's clips from now on (those being made finish)."""
        try:
            store.cancel()
        except Exception as error:  # the broker away: its clips stay queued
            message = f"interrupted; the broker could not be told to cancel the queued clips ({error})"
            raise ClipperError(message) from None
