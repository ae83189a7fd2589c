"""Sub-commands of the snapsim CLI, one module each."""
