"""The three builders over the same normalized ops: ``reverse`` (VJP: a
forward and a replayable backward function), ``forward`` (JVP: batched
tangents) and ``batching`` (vmap: one batched function). ``templates``
expands the rule templates of ``adjoint.rules`` into generated statements.
"""
