"""The O(log n) resources behave exactly like SimPy's: same grants, interrupts and order."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
import simpy
from simpy.resources.resource import Preempted

from carreta.sim.model.resources import (
    FastPreemptiveResource,
    FastResource,
    RequestQueue,
    Users,
)

Trace = list[tuple[float, int, str]]


def _customer(
    env: simpy.Environment,
    resource: Any,
    number: int,
    trace: Trace,
    rng: np.random.Generator,
    *,
    priorities: bool,
) -> Generator[simpy.Event, Any, None]:
    """Ask for the resource (maybe giving up after a while), hold it, maybe be preempted."""
    for _ in range(int(rng.integers(1, 4))):
        yield env.timeout(int(rng.integers(0, 4)))  # integer times: many ties
        if priorities:
            priority, preempt = int(rng.integers(0, 3)), bool(rng.random() < 0.5)
            request = resource.request(priority=priority, preempt=preempt)
        else:
            request = resource.request()
        trace.append((env.now, number, f"ask {len(resource.queue)} {resource.count}"))
        with request:
            patience = env.timeout(int(rng.integers(0, 6)))
            try:
                got = yield request | patience
                if request not in got:
                    trace.append((env.now, number, "gave up"))
                    continue
                trace.append((env.now, number, f"granted since {request.usage_since}"))
                yield env.timeout(int(rng.integers(0, 5)))
                trace.append((env.now, number, "done"))
            except simpy.Interrupt as interrupt:
                cause = interrupt.cause
                assert isinstance(cause, Preempted)
                trace.append((env.now, number, f"preempted, held since {cause.usage_since}"))


def _trace(kind: type, seed: int, *, capacity: int, customers: int, priorities: bool) -> Trace:
    env = simpy.Environment()
    resource = kind(env, capacity=capacity)
    rng = np.random.default_rng(seed)
    trace: Trace = []
    for number in range(customers):
        env.process(_customer(env, resource, number, trace, rng, priorities=priorities))
    env.run()
    trace.append((env.now, -1, f"end {resource.count} {len(resource.queue)}"))
    return trace


@pytest.mark.parametrize("seed", range(40))
def test_preemptive_resource_matches_simpy(seed: int) -> None:
    capacity = 1 + seed % 5
    kwargs = {"capacity": capacity, "customers": 30, "priorities": True}
    expected = _trace(simpy.PreemptiveResource, seed, **kwargs)  # type: ignore[arg-type]
    assert _trace(FastPreemptiveResource, seed, **kwargs) == expected  # type: ignore[arg-type]


def test_the_random_customers_preempt_and_give_up() -> None:
    """The comparisons above are not vacuous: preemptions and cancellations happen."""
    kwargs = {"capacity": 2, "customers": 30, "priorities": True}
    traces = [_trace(simpy.PreemptiveResource, seed, **kwargs) for seed in range(10)]  # type: ignore[arg-type]
    events = [event for trace in traces for _, _, event in trace]
    assert sum("preempted" in event for event in events) >= 10
    assert sum("gave up" in event for event in events) >= 10


@pytest.mark.parametrize("seed", range(20))
def test_resource_matches_simpy(seed: int) -> None:
    kwargs = {"capacity": 1 + seed % 4, "customers": 30, "priorities": False}
    expected = _trace(simpy.Resource, seed, **kwargs)  # type: ignore[arg-type]
    assert any("gave up" in event for _, _, event in expected)
    assert _trace(FastResource, seed, **kwargs) == expected  # type: ignore[arg-type]


def test_request_queue_orders_like_a_stable_sort() -> None:
    env = simpy.Environment()
    resource = simpy.PriorityResource(env, capacity=1)
    requests = [resource.request(priority=p) for p in (2, 1, 2, 0, 1)]  # the first is granted
    queue = RequestQueue(prioritised=True)
    for request in requests[1:]:
        queue.append(request)
    assert list(queue) == list(resource.queue)
    queue.remove(requests[3])
    assert queue[0] is requests[1] and len(queue) == 3
    assert [queue.pop(0) for _ in range(3)] == [requests[1], requests[4], requests[2]]
    assert not queue
    with pytest.raises(ValueError):
        queue.remove(requests[1])
    with pytest.raises(IndexError):
        queue[0]


def test_users_pick_simpy_victim_and_stay_small() -> None:
    env = simpy.Environment()
    resource = simpy.PreemptiveResource(env, capacity=10_000)
    users = Users(preemptible=True)
    requests = [resource.request(priority=k % 3, preempt=bool(k % 2)) for k in range(3000)]
    for request in requests:
        users.append(request)
    for request in requests[::3]:
        users.remove(request)
    kept = [request for k, request in enumerate(requests) if k % 3]
    assert users.most_preemptible() is max(kept, key=lambda request: request.key)
    assert list(users) == kept and requests[1] in users and requests[0] not in users
    with pytest.raises(ValueError):
        users.remove(requests[0])
    for request in kept[:-1]:
        users.remove(request)
    assert len(users._heap) <= 2 * len(users) + 64  # dead entries are compacted away
    assert users.most_preemptible() is kept[-1]


def test_work_per_request_does_not_grow_with_the_queue() -> None:
    """20,000 waiting requests on 5,000 chargers: SimPy's queue would sort 20,000 times."""
    env = simpy.Environment()
    chargers = FastPreemptiveResource(env, capacity=5000)

    def robot(k: int) -> Generator[simpy.Event, Any, None]:
        with chargers.request(priority=k % 2, preempt=k % 2 == 0) as request:
            try:
                yield request
                yield env.timeout(1 + k % 7)
            except simpy.Interrupt:
                pass

    for k in range(25_000):
        env.process(robot(k))
    env.run()
    assert chargers.count == 0 and not chargers.queue
