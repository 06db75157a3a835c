"""Shared rules for outside suppliers: policies as data (``policy``), bills of materials (``bom``), foreign
entities of concern through ownership chains (``feoc``) and the compliance check (``check``)."""
