"""What a run says while it works: the live bar names the stage running."""

from helpers import ends, starts

from bench.progress import Progress


def test_the_bar_names_the_stage_running_not_the_first_one():
    with Progress(total=3, live=True) as progress:
        progress("training 2 float model(s), then building their variants on 2 worker(s)")
        task = progress._bar.tasks[0]
        starts(task.description, "training 2 float model(s)")
        progress("[deep] pruned80: built in 12.3 s")
        assert progress._bar.tasks[0].description == "[deep] pruned80: built in 12.3 s"
        progress("[deep] int8: measuring", start=True)
        assert progress._bar.tasks[0].description == "[deep] int8: measuring"
        assert progress._bar.tasks[0].completed == 0  # the first of three, under way


def test_logs_count_the_steps_and_name_each_message(capsys):
    progress = Progress(total=2, live=False)
    progress("training 1 float model(s), then building")
    progress("[seed] int8: measuring", start=True)
    lines = capsys.readouterr().out.splitlines()
    starts(lines[0], "[0/2 ")
    ends(lines[0], "] training 1 float model(s), then building")
    starts(lines[1], "[1/2 ")
    ends(lines[1], "] [seed] int8: measuring")


def test_each_stage_has_its_own_bar_and_count_saying_what_it_counts(capsys, monkeypatch):
    from bench import progress as progress_module
    from bench.progress import stage

    with Progress(total=15, live=True) as live:
        stage(live, "training and building", 16, "models")
        live("[seed] float model ready (0.5 s training)", start=True)
        task = live._bar.tasks[0]
        assert (task.total, task.description) == (16, "[seed] float model ready (0.5 s training)")
        stage(live, "firmware: TFLM + CMSIS-NN for cortex-m4+fp (once)", 152, "files")
        assert (live._bar.tasks[0].total, live._bar.tasks[0].completed) == (152, 0)
    capsys.readouterr()  # the live bar's
    clock = iter([0.0, 0.0, 0.1, 0.2, 0.3, 9.0])
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    logged = Progress(total=3, live=False)
    monkeypatch.setattr(progress_module, "LOG_EVERY_STEP", 3)  # a stage of many steps
    stage(logged, "firmware: TFLM + CMSIS-NN for cortex-m4+fp (once)", 4, "files")
    for k in range(4):
        logged(f"firmware: cortex-m4+fp: compiling f{k}.cc", start=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "[0/4 files    0.0 s",  # the stage's line
        "[1/4 files    0.1 s",  # its first step
        "[4/4 files    9.0 s",  # steps 2 and 3 came within 5 s of a line: not printed
    ]
