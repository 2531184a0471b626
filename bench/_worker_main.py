"""What a local worker imports as its main module (`bench.executor`): nothing.

multiprocessing re-imports the parent's main script in every worker it starts. A user's
script that calls `api.run` at its top level, unguarded, would then run again in each
worker and break it. The workers' tasks all live in `bench`, so they need no main module
of the user's: this one stands in for it.
"""
