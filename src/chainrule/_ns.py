"""The Tensor-level op namespace, filled from the rule table by ``chainrule.ops``.

Rules are written once against a namespace ``m``: this module (ops on Tensors, which build graph)
under ``create_graph=True``, or ``ops._table.A`` (the same ops on raw NumPy arrays) otherwise.
"""
