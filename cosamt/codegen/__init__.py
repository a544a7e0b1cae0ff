"""``cosamt codegen``: a schedule as a C program that follows its loop nest, with counters on every
transfer, checked against a numpy reference of the operators and the evaluator's access counts."""
