"""Board estimation, after the measurements: what a variant would take on each board.

- `catalog`: the MCU catalog (`catalog.toml`), its published results and the MAC fits;
- `estimate`: latency, energy, battery life and fit from MACs and host sizes;
- `cpi`: the same from the firmware's instructions and each core's cycles per
  instruction;
- `spread`: the 90 % interval every estimate carries, from leave-one-out errors;
- `references`: the reference models the published results ran, built and counted.
"""
