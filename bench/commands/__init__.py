"""The `edgebench` subcommands, one module each: `arguments(sub)` adds its options to the
command line, `command(args)` runs it and returns the exit code. What several share
(where runs live, the constraints' options, the parser) is in `common`."""
