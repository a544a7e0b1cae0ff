"""Hardware-mapping co-design: the provably best accelerator of a declared space (``cosamt design``)."""
