"""The exercise framework, shared by the student's `comprobar` (in the kernel) and the judge (apart from it).

Criteria compare answers with expected outputs; nothing here computes an exercise's answer (that is the
judge-only answer key's, labs/answer_key). Kernel side: answering, isolation, tensors, evidence; shared
pure modules: wire, framework, layers, tags, declared.
"""
