"""Die-to-die interconnect: link timing and its two fidelities."""
