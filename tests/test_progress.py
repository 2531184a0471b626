"""What a run says while it works: the live bar names the stage running."""

from bench.progress import Progress


def test_the_bar_names_the_stage_running_not_the_first_one():
    with Progress(total=3, live=True) as progress:
        progress("training 2 float model(s), then building their variants on 2 worker(s)")
        task = progress._bar.tasks[0]
        assert task.description.startswith("training 2 float model(s)")
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
    assert lines[0].startswith("[0/2 ")
    assert lines[0].endswith("] training 1 float model(s), then building")
    assert lines[1].startswith("[1/2 ")
    assert lines[1].endswith("] [seed] int8: measuring")
