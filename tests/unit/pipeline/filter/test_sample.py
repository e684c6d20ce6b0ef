"""pipeline/filter/sample.py: repeats folded and counted, samples spread over the window."""

from __future__ import annotations

from pipeline_testkit import counter, make_event

from pipeline.filter.sample import SampleConfig, SampleStep
from pipeline.step import Chain


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sampling_folds_repeats_and_records_counts() -> None:
    clock = Clock()
    step = SampleStep(SampleConfig(name="repeats", threshold=5, keep=2, window_s=60), clock=clock)
    chain = Chain([step])
    events = [
        make_event(None, message=f"timeout calling svc after {i}ms id=af{i:04x}", level="warn") for i in range(50)
    ]
    before = counter("sampled_folded_events", rule="repeats")
    kept = chain.run(events).kept
    assert len(kept) == 5 + 2  # threshold passes, then `keep` samples
    assert counter("sampled_folded_events", rule="repeats") == before + 43
    assert counter("dropped_events", rule="repeats") >= 43
    # a different message is not affected
    assert chain.run([make_event(None, message="other thing", level="warn")]).kept
    # next window: the first kept event carries how many were folded since the last sample
    clock.now += 60
    nxt = chain.run([make_event(None, message="timeout calling svc after 1ms id=ff01", level="warn")]).kept
    assert nxt[0].doc["event.sampled_count"] == 43
    assert sum(e.doc.get("event.sampled_count", 0) for e in kept + nxt) + len(kept) + len(nxt) == 51


def test_sampling_spreads_samples_using_previous_rate() -> None:
    clock = Clock()
    step = SampleStep(SampleConfig(threshold=0, keep=4, window_s=60), clock=clock)
    mk = lambda: make_event(None, message="same", level="info")  # noqa: E731
    for _ in range(100):
        step.process(mk())
    clock.now += 60
    passed = [i for i in range(100) if step.process(mk()) is not None]
    assert passed == [0, 25, 50, 75]  # spread over the window, not the first four
