"""After the builders: ``optimize`` (clean-up of generated code),
``compile`` (source text, code objects, linecache, export), ``pipeline``
(front end -> analyses -> builder -> back end, for one function) and
``cache`` (compiled transforms per function and options).
"""
