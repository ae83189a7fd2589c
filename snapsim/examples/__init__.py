"""Runnable examples: small SNAP models trained with plain PyTorch, recorded into the shipped traces.

``python -m snapsim.examples.digits_snap`` and ``python -m snapsim.examples.charlm_snap`` (``make traces``
runs both) train the models and rewrite ``workloads/traces/*.snaptrace`` and the matching workload files
in the package data (:data:`snapsim.resources.WORKLOADS`); ``snap_layers`` holds the trainable spiking
boundary they share. They need the ``torch`` extra (PyTorch, scikit-learn). See README.md here.

Importing this package imports nothing else: ``import snapsim`` never pulls in torch.
"""
